'use client';
// The `rxwire/react` entry point: a provider, hooks and a status component
// over one rxwire client. Optional: needs `react` >= 18 (a peer dependency);
// the `rxwire` entry never imports React.
export type { Register, RegisteredProtocol } from './register.js';
export { RxwireProvider, useRxwire, type RxwireProviderProps } from './provider.js';
export { useConnectionState } from './use-connection-state.js';
export {
  ConnectionStatus,
  useConnectionStatus,
  connectionLabels,
  connectionTones,
  type ConnectionStatusOptions,
  type ConnectionStatusProps,
  type ConnectionStatusView,
  type ConnectionTone,
} from './connection-status.js';
export {
  useMessage,
  useLatestMessage,
  useMessages,
  type LatestMessageOptions,
  type MessagesOptions,
} from './use-message.js';
export {
  useRequest,
  type RequestHookOptions,
  type RequestHookResult,
  type RequestStatus,
} from './use-request.js';
export {
  useMicrophone,
  type MicrophoneHookOptions,
  type MicrophoneHookResult,
  type MicrophoneStats,
} from './use-microphone.js';
