// The keys are inlined in C.keys, in the order C.kids tries them.
var KEYS = [];
for (var i = 0; i < C.keys.length; i++) KEYS.push(Buffer.from(C.keys[i], 'base64url'));
function keyAt(i) {
    return KEYS[i];
}
