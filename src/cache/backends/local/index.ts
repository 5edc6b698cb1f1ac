/** `type=local` cache transport (an OCI image layout directory). */

export { findTag, IMAGE_NAME, type LayoutIndex, REF_NAME, readIndex } from './layout.ts'
export { createLocalTransport, type LocalCacheTransport, type LocalTransportOptions } from './transport.ts'
