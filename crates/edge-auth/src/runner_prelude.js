// The edge's built-ins for the local runner: Buffer, require('crypto'), the 'cloudfront'
// module's KeyValueStore and cf.cwt, console, and a Date.now frozen per request. Codecs,
// hashes and HMACs are native (Rust), as they are on the edge, so the measured cost stays the
// function's own JavaScript.
(function () {
    var N = globalThis.__native;
    delete globalThis.__native;
    function bytesOf(v) {
        return Array.prototype.slice.call(v);
    }
    class Buffer extends Uint8Array {
        static from(v, enc) {
            var src;
            if (typeof v === 'string') {
                enc = (enc || 'utf8').toLowerCase();
                if (enc === 'utf8' || enc === 'utf-8') src = N.utf8e(v);
                else if (enc === 'base64' || enc === 'base64url') src = N.b64d(v);
                else if (enc === 'hex') src = N.hexd(v);
                else throw new TypeError('Unknown encoding: ' + enc);
            } else if (v instanceof Uint8Array || Array.isArray(v)) {
                src = v;
            } else if (v instanceof ArrayBuffer) {
                src = new Uint8Array(v);
            } else {
                throw new TypeError('Buffer.from: unsupported argument');
            }
            var b = new Buffer(src.length);
            b.set(src);
            return b;
        }
        static alloc(n) {
            return new Buffer(n);
        }
        static isBuffer(v) {
            return v instanceof Buffer;
        }
        static byteLength(s) {
            return typeof s === 'string' ? N.utf8e(s).length : s.length;
        }
        static concat(list) {
            var n = 0, i;
            for (i = 0; i < list.length; i++) n += list[i].length;
            var out = new Buffer(n), at = 0;
            for (i = 0; i < list.length; i++) {
                out.set(list[i], at);
                at += list[i].length;
            }
            return out;
        }
        toString(enc) {
            enc = (enc || 'utf8').toLowerCase();
            var b = bytesOf(this);
            if (enc === 'utf8' || enc === 'utf-8') return N.utf8d(b);
            if (enc === 'base64') return N.b64e(b, false);
            if (enc === 'base64url') return N.b64e(b, true);
            if (enc === 'hex') return N.hexe(b);
            throw new TypeError('Unknown encoding: ' + enc);
        }
        equals(o) {
            if (o.length !== this.length) return false;
            for (var i = 0; i < o.length; i++) if (o[i] !== this[i]) return false;
            return true;
        }
    }
    function Hash(alg, key) {
        if (['md5', 'sha1', 'sha256'].indexOf(alg) < 0) throw new Error('Digest method not supported: ' + alg);
        this.alg = alg;
        this.key = key;
        this.parts = [];
    }
    Hash.prototype.update = function (data, enc) {
        this.parts.push(typeof data === 'string' ? Buffer.from(data, enc || 'utf8') : data);
        return this;
    };
    Hash.prototype.digest = function (enc) {
        var data = bytesOf(Buffer.concat(this.parts));
        var out = Buffer.from(this.key === null ? N.hash(this.alg, data) : N.hmac(this.alg, this.key, data));
        return enc ? out.toString(enc) : out;
    };
    var crypto = {
        createHash: function (alg) {
            return new Hash(alg, null);
        },
        createHmac: function (alg, key) {
            return new Hash(alg, bytesOf(typeof key === 'string' ? Buffer.from(key, 'utf8') : key));
        }
    };
    function kvsHandle() {
        return {
            get: async function (key, options) {
                var v = N.kvsGet(String(key));
                if (v === undefined || v === null) throw new Error('KeyValueStore: the key ' + key + ' does not exist');
                var format = options && options.format ? options.format : 'string';
                if (format === 'json') return JSON.parse(v);
                if (format === 'bytes') return Buffer.from(v, 'utf8');
                return v;
            },
            exists: async function (key) {
                var v = N.kvsGet(String(key));
                return v !== undefined && v !== null;
            }
        };
    }
    // cf.cwt.validateToken(token, {key}) as AWS documents it: the token must be a Buffer, the
    // key a string or Buffer; it throws on any failure and checks no claim. The decoding and
    // MAC are native (cwt.rs), as the module is native on the edge.
    var cwt = {
        validateToken: function (token, context) {
            if (!(token instanceof Uint8Array)) throw new TypeError('validateToken: the token must be a Buffer');
            var key = context !== null && typeof context === 'object' ? context.key : undefined;
            if (typeof key === 'string') key = Buffer.from(key, 'utf8');
            if (!(key instanceof Uint8Array)) throw new TypeError('validateToken: handlerContext.key must be a string or Buffer');
            return N.cwtValidate(bytesOf(token), bytesOf(key));
        }
    };
    globalThis.Buffer = Buffer;
    globalThis.require = function (name) {
        if (name === 'crypto') return crypto;
        throw new Error("Cannot find module '" + name + "'");
    };
    globalThis.__cloudfront = {kvs: kvsHandle, cwt: cwt};
    globalThis.__logs = [];
    globalThis.console = {
        log: function () {
            globalThis.__logs.push(Array.prototype.join.call(arguments, ' '));
        }
    };
    Date.now = function () {
        return globalThis.__nowMs;
    };
})();
