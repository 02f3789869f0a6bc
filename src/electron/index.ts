/** `gatehouse/electron`: the Electron helpers (see docs/api.md). Nothing here imports 'electron'. */
export { createGatehouseApi, type InvokeIpc, type SubscribeIpc } from './preload-api.js';
export { createAppProtocolHandler, APP_SECURITY_HEADERS, type AppProtocolHandler, type AppProtocolOptions } from './app-protocol.js';
