'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { add, clamp } = require('../lib.js');

test('add', () => assert.strictEqual(add(2, 3), 5));
test('add negative', () => assert.strictEqual(add(-2, -3), -5));
test('clamp low', () => assert.strictEqual(clamp(-5, 0, 10), 0));
