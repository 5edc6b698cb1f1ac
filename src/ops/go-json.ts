/**
 * Go encoding/json-compatible output for BuildKit-shaped cache-map descriptions. Callers build
 * plain objects with fields in Go declaration order and leave out omitempty zero values; this only
 * fixes up the escapes that differ between JSON.stringify and Go (HTML characters, U+2028/2029).
 */
export function goJSON(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}
