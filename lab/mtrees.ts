/** An MTree of a lab DD: its DD path and the lab folder that holds its files. */
export interface MtreeDef {
  path: string; // /data/col1/prod
  dir: string; // its mount path in the lab folder
  kind: 'rw' | 'replica' | 'retention';
}
