/**
 * How a failed libbpf call is told to the user: a verifier rejection, a missing hook, and a
 * load the verifier abandoned because a signal was pending (not a rejection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../src/bpf/object';

const verifierLog = ['libbpf: prog \'x\': -- BEGIN PROG LOAD LOG --', 'processed 1 insns (limit 1000000) max_states_per_insn 0', '-- END PROG LOAD LOG --'];

test('classify: EAGAIN at load is an interrupted load, not a verifier verdict', () => {
  const e = classify('load', -11, verifierLog);
  assert.equal(e.kind, 'other');
  assert.match(e.message, /^load: interrupted \(.+\): the verifier stops while a signal is pending/);
  assert.doesNotMatch(e.message, /rejected/);
});

test('classify: a verifier error with its log is a rejection; ENOENT at attach is a missing hook', () => {
  assert.equal(classify('load', -22, verifierLog).kind, 'verifier');
  assert.match(classify('load', -22, verifierLog).message, /^rejected by the BPF verifier/);
  assert.equal(classify('attach', -2, []).kind, 'missing');
});
