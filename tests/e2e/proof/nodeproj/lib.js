'use strict';
exports.add = (a, b) => a + b;
exports.clamp = (x, lo, hi) => (x < lo ? lo : x);
