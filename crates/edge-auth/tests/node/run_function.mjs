// Runs a generated CloudFront Function under Node.js: V8, Node's own `crypto` and `Buffer`,
// so the parity tests compare the validator with an engine and a crypto implementation the
// project did not write (its own runner is QuickJS with shims over aws-lc).
//
// stdin: {"code": "...", "kvs": {"key": "value"}, "cases": [{"event": {...}, "now_ms": n}]}
// stdout: [{"allowed": bool, "status": n|null, "reason": "..."|null, "error": "..."|null}]
import vm from 'node:vm';
import nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const kvs = input.kvs || {};
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// The KeyValueStore helper as documented: get(key, {format}) with string, json or bytes,
// rejecting for a missing key.
function kvsHandle() {
  return {
    async get(key, options) {
      if (!has(kvs, key)) throw new Error(`KeyValueStore: the key ${key} does not exist`);
      const value = kvs[key];
      const format = options && options.format ? options.format : 'string';
      if (format === 'json') return JSON.parse(value);
      if (format === 'bytes') return Buffer.from(value, 'utf8');
      return value;
    },
    async exists(key) {
      return has(kvs, key);
    },
  };
}

let nowMs = 0;
const context = vm.createContext({
  Buffer,
  console: { log() {} },
  __cloudfront: { kvs: kvsHandle },
  __now: () => nowMs,
  require(name) {
    if (name === 'crypto') {
      return { createHash: nodeCrypto.createHash, createHmac: nodeCrypto.createHmac };
    }
    throw new Error(`Cannot find module '${name}'`);
  },
});
vm.runInContext('Date.now = function () { return __now(); };', context);
// CloudFront loads the function as a module; `import cf from 'cloudfront'` becomes a binding.
const source = input.code
  .split('\n')
  .map((line) => {
    const m = /^\s*import\s+(\w+)\s+from\s+['"]cloudfront['"];?\s*$/.exec(line);
    return m ? `var ${m[1]} = __cloudfront;` : line;
  })
  .join('\n');
vm.runInContext(source, context, { filename: 'function.js' });

const results = [];
for (const c of input.cases) {
  nowMs = c.now_ms;
  try {
    const out = await context.handler(c.event);
    if (out && typeof out.statusCode === 'number') {
      const h = out.headers && out.headers['x-edge-auth-reason'];
      results.push({ allowed: false, status: out.statusCode, reason: h ? h.value : null, error: null });
    } else {
      results.push({ allowed: true, status: null, reason: null, error: null });
    }
  } catch (e) {
    results.push({ allowed: false, status: null, reason: null, error: String(e && e.stack ? e.stack : e) });
  }
}
process.stdout.write(JSON.stringify(results));
