import { AppError } from '../common/app-error';

/** rotateSigningKey while MESSAGE_SIGNING_KEY is set: that key changes only with the variable. */
export class SigningKeyConfiguredError extends AppError {
  constructor() {
    super(
      'FORBIDDEN',
      'rotateSigningKey: the signing key is set by MESSAGE_SIGNING_KEY: rotate it by changing the variable and listing the old key in MESSAGE_SIGNING_OLD_KEYS',
      { reason: 'SIGNING_KEY_CONFIGURED' },
    );
  }
}
