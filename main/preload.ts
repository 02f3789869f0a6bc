import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { createGatehouseApi } from '../src/electron/preload-api.js';

// The only thing the page gets: `window.gatehouse`, one named function per call. Never ipcRenderer,
// never a way to pick a channel.
contextBridge.exposeInMainWorld(
  'gatehouse',
  createGatehouseApi(
    (channel, args) => ipcRenderer.invoke(channel, args),
    (channel, listener) => {
      const onMessage = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
      ipcRenderer.on(channel, onMessage);
      return () => {
        ipcRenderer.off(channel, onMessage);
      };
    },
  ),
);
