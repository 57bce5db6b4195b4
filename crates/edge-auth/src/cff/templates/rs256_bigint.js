// Modular exponentiation on BigInt (built without BigInt literals, so that the source still
// parses on a runtime without BigInt when both variants are included).
function rsaBig(key, input, sig) {
    var nb = Buffer.from(key.n, 'base64'), k = nb.length;
    if (sig.length !== k || k < 256) return false;
    var n = BigInt('0x' + nb.toString('hex')), s = BigInt('0x' + sig.toString('hex'));
    if (s >= n) return false;
    var r = BigInt(1), b = s, e = key.e;
    while (e > 0) {
        if (e % 2 === 1) r = r * b % n;
        e = Math.floor(e / 2);
        if (e > 0) b = b * b % n;
    }
    var hex = r.toString(16);
    while (hex.length < 2 * k) hex = '0' + hex;
    return ctEq(hex, expectedEm(k, input));
}
