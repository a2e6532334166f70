// The README's React examples are typed by `ChatProtocol`: here it is the
// demo's protocol, which the demo registers for rxwire/react (demo/react/register.ts).
export type { DemoProtocol as ChatProtocol } from '../../demo/protocol';
