// HS256 with the runtime's own HMAC. The signature segment is canonical base64url, so
// comparing the encoded strings compares the bytes.
function verify(key, input, sigB64) {
    var mac = crypto.createHmac('sha256', Buffer.from(key, 'base64url')).update(input).digest('base64url');
    return ctEq(mac, sigB64);
}
