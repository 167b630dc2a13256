export { startDemo, DEMO_DEFAULTS, type DemoOptions, type RunningDemo } from './demo-server.js';
export {
  RestClient,
  RestRequestError,
  DEV_SECRET_KEY,
  httpOrigin,
  type SecretKey,
  type TokenRequest,
  type MintedToken,
} from './rest-client.js';
export {
  sendFile,
  receiveFile,
  sha256Hex,
  FILE_CHANNEL_PREFIX,
  CHUNK_BYTES,
  type FileHeader,
  type ReceivedFile,
  type ProgressHandler,
} from './file-transfer.js';
