import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { secretWarnings } from './checks.ts'
import { createSecretStore } from './store.ts'

describe('secretWarnings', () => {
  it('warns when a build arg carries a secret value, and about secrets too short to guard, without printing values', () => {
    const ws = secretWarnings(
      new Map([
        ['NPM_TOKEN', 'npm-abcdef-123'],
        ['OTHER', 'x'],
      ]),
      createSecretStore({ npm: 'npm-abcdef-123', pin: '12' }),
    )
    assert.deepEqual(
      ws.map((w) => w.rule),
      ['SecretInBuildArg', 'SecretTooShort'],
    )
    assert.match(ws[0]?.message ?? '', /--build-arg NPM_TOKEN has the value of secret "npm"/)
    assert.match(ws[1]?.message ?? '', /secret "pin" is shorter than 4 bytes/)
    for (const w of ws) assert.ok(!w.message.includes('npm-abcdef-123'))
  })
})
