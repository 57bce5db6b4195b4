// What every generated function shares (JWT and CWT alike): own-property checks,
// canonical base64url, the tenant from Host, the token from the request, time claims, the
// deny response and the handler. Written once, so the two kinds cannot drift apart.
function own(o, k) {
    return Object.prototype.hasOwnProperty.call(o, k);
}
// Canonical unpadded base64url only: lenient decoding would accept many spellings of one
// signature. Re-encoding and comparing rejects padding, '+', '/' and stray trailing bits.
function b64d(s) {
    if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
    var b = Buffer.from(s, 'base64url');
    return b.toString('base64url') === s ? b : null;
}
function tenantOf(h) {
    if (typeof h !== 'string') return null;
    var m = /^([A-Za-z0-9.-]+)(?::[0-9]+)?$/.exec(h);
    if (!m) return null;
    // No wiki domain, no tenant: a tenant is never read off an arbitrary parent domain.
    if (C.domain === null || C.domain === '') return null;
    var n = m[1].toLowerCase(), d = '.' + C.domain;
    if (n.length <= d.length || n.slice(n.length - d.length) !== d) return null;
    var l = n.slice(0, n.length - d.length);
    return l.indexOf('.') >= 0 ? null : l;
}
function strings(a) {
    for (var i = 0; i < a.length; i++) if (typeof a[i] !== 'string') return false;
    return true;
}
function tokenOf(req) {
    var a = req.headers && req.headers.authorization;
    if (a && typeof a.value === 'string') {
        var v = a.value, i = v.indexOf(' ');
        var s = i < 0 ? v : v.slice(0, i);
        var r = (i < 0 ? '' : v.slice(i + 1)).replace(/^[ \t]+|[ \t]+$/g, '');
        if (s.toLowerCase() === 'bearer' && r !== '') return r;
    }
    var k = req.cookies && own(req.cookies, C.cookie) ? req.cookies[C.cookie] : null;
    return k && typeof k.value === 'string' && k.value !== '' ? k.value : null;
}
function timeClaim(c, k) {
    if (!own(c, k)) return null;
    return typeof c[k] === 'number' && isFinite(c[k]) ? c[k] : NaN;
}
function deny(r) {
    var h = {'www-authenticate': {value: 'Bearer error="invalid_token"'}};
    if (C.exposeReason) h['x-edge-auth-reason'] = {value: r};
    return {statusCode: 401, statusDescription: 'Unauthorized', headers: h};
}
// The viewer-request entry point: the token from the request, the template's check, and
// the request itself or a 401.
/*ASYNC*/function handler(event) {
    var req = event.request;
    var tok = tokenOf(req);
    if (tok === null) return deny('no_token');
    var host = req.headers && req.headers.host ? req.headers.host.value : undefined;
    var r = /*AWAIT*/check(tok, host);
    return typeof r === 'string' ? deny(r) : req;
}
