/**
 * The one way Stanza's JSON wire messages are read: strict UTF-8 (a bad byte
 * is an error, not a replacement character), then a plain object — never an
 * array, a string or null. Each protocol passes its own error class, so a
 * malformed message is reported in that protocol's terms.
 */
export function parseJsonObject(bytes: Uint8Array, fail: (message: string) => Error, what: string): Record<string, unknown> {
	let doc: unknown;
	try {
		doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
	} catch {
		throw fail(`${what} is not UTF-8 JSON`);
	}
	if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail(`${what} is not an object`);
	return doc as Record<string, unknown>;
}
