// Original file: protos/federation.proto


export interface PatientRewardsReceipt {
  'logSeq'?: (string);
}

export interface PatientRewardsReceipt__Output {
  'logSeq': (string);
}
