import * as core from '@actions/core';
import { Verifier, toSignedEntity } from '@sigstore/verify';
import { TrustedRoot } from '@sigstore/protobuf-specs';
core.info(`hello ${typeof Verifier} ${typeof toSignedEntity} ${typeof TrustedRoot.fromJSON}`);
