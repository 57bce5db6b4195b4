// Keys are inlined in C.keys, found by kid with an own-property lookup so that names such
// as "__proto__" or "constructor" cannot reach Object.prototype.
function keyFor(kid) {
    return own(C.keys, kid) ? C.keys[kid] : null;
}
