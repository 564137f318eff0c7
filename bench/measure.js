// @ts-check
/** What the browser benchmarks share: a median, and the size of the JavaScript the first route loads. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** @param {number[]} xs */
export const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * JS of the first route: every script `build/index.html` loads or preloads (kit's entries, the
 * root layout and page, and their static imports), gzipped as the relay serves them.
 */
export function initialJsGzipBytes() {
	const html = readFileSync('build/index.html', 'utf8');
	const files = [...new Set(html.match(/_app\/immutable\/[^"']+\.js/g) ?? [])];
	let total = 0;
	for (const file of files) total += gzipSync(readFileSync(`build/${file}`), { level: 9 }).length;
	return { bytes: total, files: files.length };
}
