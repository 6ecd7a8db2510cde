/** Terminal text clean-up and prompt finding for CLI sessions over a pty: pure functions. */

const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
const OTHER_ESC = /\x1b[()][A-Za-z0-9]|\x1b[=>78DEHMc]/g;

/** Strip ANSI escapes, normalise CRLF to LF, apply bare-CR overwrites and backspaces, drop other controls. */
export function cleanTerminalText(raw: string): string {
  const s = raw.replace(OSC, '').replace(CSI, '').replace(OTHER_ESC, '').replace(/\r+\n/g, '\n');
  return s
    .split('\n')
    .map((line) => {
      let out = line;
      if (out.includes('\r')) {
        // A bare CR returns the cursor to column 0: later text overwrites earlier text.
        out = out.split('\r').reduce((acc, seg) => seg + acc.slice(seg.length), '');
      }
      if (out.includes('\b')) {
        let prev: string;
        do {
          prev = out;
          out = out.replace(/[^\x08]\x08/, '');
        } while (out !== prev);
        out = out.replace(/\x08/g, '');
      }
      return out.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    })
    .join('\n');
}

export function lastLine(text: string): string {
  return text.slice(text.lastIndexOf('\n') + 1).trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Where the device's echo of `command` ends in `text` (index just past the echo line), or -1 when the echo
 * has not arrived yet. Whitespace in the command matches any run of whitespace (terminals re-flow long lines).
 */
export function echoEnd(text: string, command: string): number {
  const words = command.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 0;
  const m = new RegExp(words.map(escapeRegExp).join('\\s+')).exec(text);
  if (!m) return -1;
  const nl = text.indexOf('\n', m.index + m[0].length);
  return nl < 0 ? text.length : nl + 1;
}

/** The command's output: text between the echo line and the prompt line, trailing blank lines trimmed. */
export function commandOutput(text: string, from: number): string {
  const body = text.slice(from);
  const cut = body.lastIndexOf('\n');
  return (cut < 0 ? '' : body.slice(0, cut)).replace(/\s+$/, '');
}

/** The lines of `output` that contain any failure string (the device's own words), or [] when none. */
export function failureLines(output: string, failedWhenContains: string[]): string[] {
  const lines = output.split('\n');
  return lines.filter((l) => failedWhenContains.some((f) => l.includes(f))).map((l) => l.trim());
}

/** Hostname part of a prompt line: `vault-sw1(config-if)#` → `vault-sw1`, `netops@sw1>` → `netops@sw1`. */
export function promptBase(prompt: string): string {
  return prompt
    .trim()
    .replace(/[>#$%]\s*$/, '')
    .replace(/\([^)]*\)$/, '')
    .trim();
}
