import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHardware, listHardware, loadHardwareFile, matmulFlops, parseHardwareText, UnknownHardwareError } from '../../src/physics/hardware.ts';
import { PhysicsInputError } from '../../src/physics/errors.ts';

test('every accelerator of reference/hardware.md is in the catalog', () => {
  const ids = listHardware().map((h) => h.id);
  for (const id of ['h100', 'h200', 'b200', 'gb200', 'mi300x', 'mi325x', 'gaudi3', 'tpu-v5e', 'tpu-v6e', 'wse3', 'groq-lpu']) {
    assert.ok(ids.includes(id), id);
  }
});

test('published figures are dense and per direction', () => {
  const h100 = getHardware('h100');
  assert.equal(h100.flops.bf16, 989e12);
  assert.equal(h100.flops.fp8, 1979e12);
  assert.equal(h100.memBandwidthBytesPerSec, 3.35e12);
  assert.equal(h100.scaleUpBandwidthBytesPerSec, 450e9);
  assert.equal(h100.memoryBytes, 80 * 1024 ** 3);
  assert.equal(getHardware('b200').flops.fp4, 9000e12);
  assert.equal(getHardware('wse3').memoryKind, 'sram');
  assert.equal(getHardware('groq-lpu').memoryBytes, 230e6);
});

test('aliases resolve', () => {
  assert.equal(getHardware('H100-SXM').id, 'h100');
  assert.equal(getHardware('nvidia_h200').id, 'h200');
  assert.equal(getHardware('Trillium').id, 'tpu-v6e');
  assert.equal(getHardware('TPU v5e').id, 'tpu-v5e');
  assert.equal(getHardware('cerebras').id, 'wse3');
  assert.equal(getHardware('groq').id, 'groq-lpu');
  assert.equal(getHardware('MI300X').id, 'mi300x');
});

test('unknown accelerator lists the known ones', () => {
  assert.throws(() => getHardware('h300'), (err: Error) => {
    assert.ok(err instanceof UnknownHardwareError);
    assert.ok(err instanceof PhysicsInputError);
    assert.match(err.message, /unknown accelerator 'h300'/);
    assert.match(err.message, /h100, h200, b200/);
    return true;
  });
});

test('matmul rate follows the weight format, falling back where a part has no native path', () => {
  const h100 = getHardware('h100');
  assert.equal(matmulFlops(h100, 'fp8'), 1979e12);
  assert.equal(matmulFlops(h100, 'int4'), 989e12); // weight-only int4 dequantises to BF16
  assert.equal(matmulFlops(h100, 'fp4'), 989e12); // no FP4 units on Hopper: dequantised to BF16 (vLLM's Marlin path)
  assert.equal(matmulFlops(getHardware('b200'), 'fp4'), 9000e12);
  assert.equal(matmulFlops(getHardware('tpu-v5e'), 'fp8'), 197e12);
});

test('user hardware from YAML and JSON files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-'));
  try {
    const yamlPath = join(dir, 'hw.yaml');
    writeFileSync(yamlPath, 'hardware:\n  - id: my-gpu\n    name: My GPU\n    memoryGiB: 96\n    bandwidthTBps: 4\n    bf16Tflops: 800\n    fp8Tflops: 1600\n    tdpWatts: 600\n');
    const added = loadHardwareFile(yamlPath);
    assert.equal(added.length, 1);
    const g = getHardware('my-gpu');
    assert.equal(g.memoryBytes, 96 * 1024 ** 3);
    assert.equal(g.memBandwidthBytesPerSec, 4e12);
    assert.equal(g.flops.fp8, 1600e12);
    const jsonPath = join(dir, 'hw.json');
    writeFileSync(jsonPath, JSON.stringify([{ id: 'json-gpu', memoryGB: 48, bandwidthTBps: 1, bf16Tflops: 300 }]));
    loadHardwareFile(jsonPath);
    assert.equal(getHardware('json-gpu').flops.fp8, 300e12); // no FP8 given: BF16 rate
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad hardware files give clear errors', () => {
  assert.throws(() => parseHardwareText('[{ id: x, memoryGiB: 10 }]', 'f.yaml'), /f.yaml entry 1: needs 'bandwidthTBps'/);
  assert.throws(() => parseHardwareText('[{ id: x, memoryGiB: -1, bandwidthTBps: 1, bf16Tflops: 1 }]', 'f.yaml'), /positive number/);
  assert.throws(() => parseHardwareText('{ foo: 1 }', 'f.yaml'), /expected a list/);
  assert.throws(() => parseHardwareText('[{ id: x, memoryGiB: 1, bandwidthTBps: 1, bf16Tflops: 1, memoryKind: dram }]', 'f.yaml'), /memoryKind/);
  assert.throws(() => parseHardwareText(': : :\n  - [', 'f.yaml'), /not valid YAML/);
  assert.throws(() => loadHardwareFile('/nonexistent/hw.yaml'), /cannot read hardware file '\/nonexistent\/hw.yaml': ENOENT/);
});

test('the workstation GPUs of the replay bench parse as a user hardware file', () => {
  const text = readFileSync(new URL('../../bench/data/workstation-gpus.yaml', import.meta.url), 'utf8');
  const [rtx4090, pro6000] = parseHardwareText(text, 'workstation-gpus.yaml');
  assert.equal(rtx4090!.id, 'rtx4090');
  assert.equal(rtx4090!.memoryBytes, 24 * 1024 ** 3);
  assert.equal(rtx4090!.flops.bf16, 165.2e12);
  assert.equal(pro6000!.id, 'rtxpro6000');
  assert.equal(pro6000!.memBandwidthBytesPerSec, 1.792e12);
});
