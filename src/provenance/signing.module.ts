import { Global, Module } from '@nestjs/common';
import { SigningKeyRepository } from './signing-key.repository';
import { SigningKeysService } from './signing-keys.service';

/**
 * The signing keys. Global, because the store step (src/store/message-store.ts) signs every
 * message and is provided by a module that does not know about provenance.
 */
@Global()
@Module({
  providers: [SigningKeyRepository, SigningKeysService],
  exports: [SigningKeysService],
})
export class SigningModule {}
