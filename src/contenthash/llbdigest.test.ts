// The two `llb-op-digest` goldens, checked with a minimal deterministic protobuf encoder for the
// pb.Op fields they use (inputs 1, source 3; Input.digest 1, Input.index 2; SourceOp.identifier 1,
// SourceOp.attrs 2). A full LLB encoder belongs with the LLB op code, not here.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'

function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n) // negative int64 → 10-byte two's complement
  const out: number[] = []
  do {
    const b = Number(v & 0x7fn)
    v >>= 7n
    out.push(v > 0n ? b | 0x80 : b)
  } while (v > 0n)
  return out
}
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire))
const lenDelim = (field: number, body: number[]) => [...tag(field, 2), ...varint(BigInt(body.length)), ...body]
const str = (field: number, s: string) => (s === '' ? [] : lenDelim(field, [...Buffer.from(s)]))
const int = (field: number, n: bigint) => (n === 0n ? [] : [...tag(field, 0), ...varint(n)])

interface Op {
  inputs?: { digest: string; index: number }[]
  source?: { identifier: string; attrs?: Record<string, string> }
}

function encodeOp(op: Op): Buffer {
  const out: number[] = []
  for (const i of op.inputs ?? []) out.push(...lenDelim(1, [...str(1, i.digest), ...int(2, BigInt(i.index))]))
  if (op.source !== undefined) {
    const attrs = Object.keys(op.source.attrs ?? {}).sort()
    const body = [...str(1, op.source.identifier)]
    for (const k of attrs) body.push(...lenDelim(2, [...lenDelim(1, [...Buffer.from(k)]), ...lenDelim(2, [...Buffer.from(op.source.attrs?.[k] ?? '')])]))
    out.push(...lenDelim(3, body))
  }
  return Buffer.from(out)
}

interface OpCase { name: string; kind: string; op: Op; protobuf_hex: string; expected: string }
const goldens = JSON.parse(readFileSync(new URL('../../../shared/conformance/buildkit-contenthash/goldens.json', import.meta.url), 'utf8')) as { cases: OpCase[] }

describe('BuildKit LLB op digest goldens', () => {
  const cases = goldens.cases.filter((c) => c.kind === 'llb-op-digest')
  it('has the 2 op cases', () => assert.equal(cases.length, 2))
  for (const c of cases) {
    it(c.name, () => {
      const bytes = encodeOp(c.op)
      assert.equal(bytes.toString('hex'), c.protobuf_hex)
      assert.equal(sha256(bytes), c.expected)
    })
  }
  it('encodes negative int64 as 10-byte varints', () => {
    assert.deepEqual(varint(-1n), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
  })
})
