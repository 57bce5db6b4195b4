// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2): the expected encoded message is
// 00 01 FF..FF 00 DigestInfo(SHA-256) hash; the signature raised to e mod n must equal it.
function expectedEm(k, input) {
    var hash = crypto.createHash('sha256').update(input).digest('hex');
    var ps = '';
    for (var i = 0; i < k - 54; i++) ps += 'ff';
    return '0001' + ps + '003031300d060960864801650304020105000420' + hash;
}
