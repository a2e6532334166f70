/**
 * Makes a cheap id generator: a random per-generator prefix plus a counter,
 * so ids are unique per connection without a crypto call per message.
 */
export function createIdGenerator(random: () => number = Math.random): () => string {
  const prefix = Math.floor(random() * 0x7fffffff).toString(36);
  let n = 0;
  return () => `${prefix}.${(++n).toString(36)}`;
}
