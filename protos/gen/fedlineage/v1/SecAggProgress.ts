// Original file: protos/federation.proto


export interface SecAggProgress {
  'phase'?: (string);
  'expected'?: (string)[];
  'answered'?: (string)[];
  'deadlineMs'?: (string);
  'dropped'?: (string)[];
}

export interface SecAggProgress__Output {
  'phase': (string);
  'expected': (string)[];
  'answered': (string)[];
  'deadlineMs': (string);
  'dropped': (string)[];
}
