// CWT check on CloudFront's native cf.cwt module. validateToken verifies the COSE_Mac0 tag
// and MAC and nothing else (AWS: "no validation on the claim set"), so the claims are
// checked here in the Rust validator's order (cwt.rs). Claim keys arrive as strings:
// "1" iss, "3" aud, "4" exp, "5" nbf, "6" iat, and the tenant under its text key.
// Returns the claims, or a deny reason (a string).
/*ASYNC*/function check(tok, host) {
    // validateToken refuses more than 1 KB of CBOR; refusing the longer text first names
    // the reason instead of a bare throw.
    if (Buffer.from(tok, 'utf8').length > C.maxText) return 'oversize';
    var b = b64d(tok);
    if (b === null) return 'bad_base64';
    // Current key first, then keys being rotated out. The module throws on any failure
    // (tags, structure, algorithm, MAC) without saying which, so all are one reason.
    var cwt = null;
    for (var i = 0; i < C.kids.length && cwt === null; i++) {
        var key = /*AWAIT*/keyAt(i);
        if (key === null) continue;
        try {
            cwt = cf.cwt.validateToken(b, {key: key});
        } catch (e) {
            cwt = null;
        }
    }
    if (cwt === null || typeof cwt !== 'object') return 'invalid_token';
    // The key's algorithm decides: HMAC 256/256 (COSE 5) only. validateToken also accepts
    // HMAC 256/64 (COSE 4, the algorithm of RFC 8392's and AWS's examples): a 64-bit tag.
    var h = cwt.protectedHeaders, a = h && own(h, '1') ? h['1'] : null;
    if (a !== 5 && a !== '5') return 'wrong_alg';
    var c = cwt.payload;
    if (c === null || typeof c !== 'object') return 'invalid_token';
    var exp = timeClaim(c, '4');
    if (exp !== exp) return 'bad_time_claim';
    if (exp === null) return 'missing_exp';
    var nbf = timeClaim(c, '5'), iat = timeClaim(c, '6');
    if (nbf !== nbf || iat !== iat) return 'bad_time_claim';
    var now = Date.now() / 1000;
    if (now >= exp + C.leeway) return 'expired';
    if (nbf !== null && now + C.leeway < nbf) return 'not_yet_valid';
    if (C.iss !== null && (!own(c, '1') || c['1'] !== C.iss)) return 'wrong_issuer';
    var aud = own(c, '3') ? c['3'] : undefined;
    if (C.aud === null ? aud !== undefined : !(aud === C.aud || (Array.isArray(aud) && strings(aud) && aud.indexOf(C.aud) >= 0))) return 'wrong_audience';
    if (C.tenant !== null) {
        var t = tenantOf(host);
        if (t === null) return 'bad_host';
        if (!own(c, C.tenant) || c[C.tenant] !== t) return 'wrong_tenant';
    }
    return c;
}
