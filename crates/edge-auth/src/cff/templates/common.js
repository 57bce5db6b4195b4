// Shared checks. They run in the same order as the Rust validator (validate.rs), so both
// give the same reason for the same token. Only ES5, const/let, async/await, Buffer and
// the crypto module are used: the cloudfront-js-2.0 runtime offers nothing else.
var MISMATCH = {};
// Compares equal-length strings in time independent of where they differ.
function ctEq(a, b) {
    if (a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return d === 0;
}
function countKeys(v) {
    var n = 0, i;
    if (Array.isArray(v)) {
        for (i = 0; i < v.length; i++) n += countKeys(v[i]);
    } else if (v !== null && typeof v === 'object') {
        var k = Object.keys(v);
        n = k.length;
        for (i = 0; i < k.length; i++) n += countKeys(v[k[i]]);
    }
    return n;
}
// Parses a JSON object strictly: 1 = not UTF-8, not JSON or not an object, 2 = a duplicate
// member name. JSON.parse keeps the last duplicate silently, so the member names written
// in the text are counted and compared with the names that survived parsing.
function pj(b) {
    var s = b.toString('utf8'), o;
    if (Buffer.from(s, 'utf8').toString('base64') !== b.toString('base64')) return 1;
    try {
        o = JSON.parse(s);
    } catch (e) {
        return 1;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return 1;
    var re = /"(?:[^"\\]|\\.)*"(\s*:)?/g, n = 0, m;
    while ((m = re.exec(s)) !== null) if (m[1]) n++;
    return n === countKeys(o) ? o : 2;
}
// Returns the claims, or a deny reason (a string).
/*ASYNC*/function check(tok, host) {
    if (Buffer.from(tok, 'utf8').length > C.maxBytes) return 'oversize';
    var p = tok.split('.');
    if (p.length !== 3) return 'wrong_segment_count';
    var hb = b64d(p[0]), pb = b64d(p[1]);
    if (hb === null || pb === null) return 'bad_base64';
    if (p[2] === '') return 'empty_signature';
    var sig = b64d(p[2]);
    if (sig === null) return 'bad_base64';
    var h = pj(hb);
    if (h === 1) return 'bad_header';
    if (h === 2) return 'duplicate_json_key';
    var c = pj(pb);
    if (c === 1) return 'bad_claims';
    if (c === 2) return 'duplicate_json_key';
    var alg = own(h, 'alg') ? h.alg : null;
    if (typeof alg !== 'string') return 'missing_alg';
    if (alg.toLowerCase() === 'none') return 'alg_none';
    if (C.algs.indexOf(alg) < 0) return 'unsupported_alg';
    if (own(h, 'jku') || own(h, 'x5u') || own(h, 'jwk') || own(h, 'x5c')) return 'forbidden_header';
    if (own(h, 'crit') || (own(h, 'b64') && h.b64 !== true)) return 'unknown_crit';
    // RFC 7519 §7.2: cty JWT means the payload is a nested token, never claims.
    if (own(h, 'cty') && typeof h.cty === 'string' && /^[Jj][Ww][Tt]$/.test(h.cty)) return 'nested_jwt';
    var key;
    if (!own(h, 'kid')) {
        // C.single is the whole key set's only key, when it has exactly one: a token
        // without kid is never matched against one key of several.
        if (C.single === null) return 'missing_kid';
        key = /*AWAIT*/keyFor(C.single);
    } else {
        if (typeof h.kid !== 'string') return 'unknown_kid';
        key = /*AWAIT*/keyFor(h.kid);
    }
    if (key === null) return 'unknown_kid';
    // The key's pinned algorithm decides; the header only has to agree with it. A key
    // bound to another algorithm (keyFor says so) is never used with this one.
    if (key === MISMATCH || alg !== C.alg) return 'alg_mismatch';
    if (!verify(key, p[0] + '.' + p[1], p[2], sig)) return 'bad_signature';
    var exp = timeClaim(c, 'exp');
    if (exp !== exp) return 'bad_time_claim';
    if (exp === null) return 'missing_exp';
    var nbf = timeClaim(c, 'nbf'), iat = timeClaim(c, 'iat');
    if (nbf !== nbf || iat !== iat) return 'bad_time_claim';
    var now = Date.now() / 1000;
    if (now >= exp + C.leeway) return 'expired';
    if (nbf !== null && now + C.leeway < nbf) return 'not_yet_valid';
    if (C.iss !== null && (!own(c, 'iss') || c.iss !== C.iss)) return 'wrong_issuer';
    var aud = own(c, 'aud') ? c.aud : undefined;
    // An aud array counts only when every member is a string, as in the validator.
    if (C.aud === null ? aud !== undefined : !(aud === C.aud || (Array.isArray(aud) && strings(aud) && aud.indexOf(C.aud) >= 0))) return 'wrong_audience';
    if (C.tenant !== null) {
        var t = tenantOf(host);
        if (t === null) return 'bad_host';
        if (!own(c, C.tenant) || c[C.tenant] !== t) return 'wrong_tenant';
    }
    return c;
}
