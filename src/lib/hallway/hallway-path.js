// @ts-check
/** Where a relay serves the hallway announcements it keeps (relay/hallway.js): its own file so the app can ask before the hallway's code loads. */
export const HALLWAY_PATH = '/v1/hallway';
