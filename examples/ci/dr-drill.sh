#!/usr/bin/env sh
# Recovery drill for any CI (GitLab, Jenkins, cron, ...): run it, keep the JUnit file and the reports, and
# pass irctl's exit code on: 0 passed; 1 recovery failed; 2 usage or config error; 6 objectives missed (3: Temporal unreachable).
#
#   TEMPORAL_ADDRESS=temporal.vault.internal:7233 IR_CONFIG=/etc/isolated-recovery/vaults.yaml \
#     examples/ci/dr-drill.sh lab-vault [--copy ID] [--app NAME]...
set -u
vault=${1:?usage: dr-drill.sh VAULT [irctl drill run options]}
shift
out=${DRILL_OUT:-drill-out}
mkdir -p "$out" && out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.." || exit 2

node bin/irctl.js drill run "$vault" "$@" --wait --junit "$out/junit.xml" --markdown "$out/drill.md"
code=$?
node bin/irctl.js report compliance --html "$out/compliance.html" --markdown "$out/compliance.md" >/dev/null || true

case $code in
  0) echo "drill passed: $out/drill.md" ;;
  1) echo "RECOVERY FAILED: see $out/junit.xml and $out/drill.md" >&2 ;;
  2) echo "usage or configuration error (nothing was started)" >&2 ;;
  6) echo "recovered, but an RTO or RPO objective was missed: see $out/drill.md" >&2 ;;
esac
exit $code
