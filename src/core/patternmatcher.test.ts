import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { goClean, goPathMatch, matchesOrParentMatches, PatternMatcher, readDockerignore } from './patternmatcher.ts'

describe('goClean', () => {
  it('cleans like Go filepath.Clean', () => {
    const cases: [string, string][] = [
      ['', '.'], ['.', '.'], ['/', '/'], ['a/b/', 'a/b'], ['//a//b/./c/..', '/a/b'], ['../../x', '../../x'],
      ['/../x', '/x'], ['a/../..', '..'], ['./a', 'a'], ['a/./b/../../c', 'c'], ['!foo/', '!foo'],
    ]
    for (const [i, o] of cases) assert.equal(goClean(i), o, i)
  })
})

describe('goPathMatch', () => {
  it('matches like Go path.Match', () => {
    const cases: [string, string, boolean][] = [
      ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'ab/c', false],
      ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
      ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
      ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
      ['ab[^b-d]', 'abe', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false], ['a?b', 'a☺b', true],
      ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false],
      ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['[\\]a]', ']', true], ['[\\-]', '-', true],
      ['[x\\-]', 'z', false], ['/x/d?', '/x/d0', true], ['/x/d?', '/x', false], ['f*', 'foo', true],
    ]
    for (const [p, n, want] of cases) assert.equal(goPathMatch(p, n), want, `${p} ~ ${n}`)
  })
  it('reports malformed patterns even when the name does not match', () => {
    for (const p of ['[', '[^', '[^bc', 'a[', '[]a]', '[-]', '[x-]', '[-x]', 'a\\', '[a-b-c]', '*x\\', 'x[']) {
      assert.throws(() => goPathMatch(p, 'zzz'), { code: 'ERR_BAD_PATTERN' }, p)
    }
  })
})

describe('PatternMatcher', () => {
  const m = (patterns: string[], file: string) => new PatternMatcher(patterns).matchesOrParentMatches(file)
  it('single patterns (MatchesOrParentMatches)', () => {
    const cases: [string, string, boolean][] = [
      ['**', 'file', true], ['**', 'dir/file', true], ['**/', 'file', true], ['**/**', 'dir/file', true],
      ['dir/**', 'dir/file', true], ['dir/**', 'dir/dir2/file', true], ['dir/**', 'dir', false],
      ['**/dir', 'dir', true], ['**/dir', 'dir/file', true], ['**/dir2/*', 'dir/dir2/file', true],
      ['**/dir2/**', 'dir/dir2/dir3/file', true], ['**file', 'file', true], ['**file', 'dir/dir/file', true],
      ['**/file*', 'dir/dir/file.txt', true], ['**/file*txt', 'dir/dir/file.txt', true],
      ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/*.txt', 'file.txt', true], ['**/foo/**', 'a/foo/bar', true],
      ['**/foo/**', 'a/foo', false], ['*', 'file', true], ['*', 'dir/file', true], ['*.go', 'dir/file.go', false],
      ['docs', 'docs/README.md', true], ['docs/', 'docs/README.md', true], ['/docs', 'docs/a', false /* New() keeps a leading slash; readDockerignore drops it */],
      ['a/b/../c', 'a/c/x', true], ['?', 'a', true], ['?', 'ab', false], ['a?c', 'a/c', false],
      ['[a-c]x', 'bx', true], ['[!a]x', '!x', true], ['[^a]x', 'bx', true], ['[^a]x', 'ax', false],
      ['abc.def', 'abcdef', false], ['abc.def', 'abc.def', true], ['a+b', 'a+b', true], ['a(b)', 'a(b)', true],
      ['a\\*b', 'a*b', true], ['a\\*b', 'axb', false], ['dir/*/file', 'dir/x/file', true], ['dir/*/file', 'dir/x/y/file', false],
      ['pkg/**/*.go', 'pkg/a/b/c.go', true], ['pkg/**/*.go', 'pkg/c.go', true], ['$x', '$x', true], ['{a,b}', '{a,b}', true],
      ['a|b', 'a', false], ['ü*', 'über/x', true], ['a b', 'a b', true],
    ]
    for (const [p, f, want] of cases) assert.equal(m([p], f), want, `${p} ~ ${f}`)
  })
  it('exclusions: later ! patterns re-include', () => {
    assert.equal(m(['*.go', '!fileutils.go'], 'fileutils.go'), false)
    assert.equal(m(['!fileutils.go', '*.go'], 'fileutils.go'), true)
    assert.equal(m(['docs', '!docs/README.md'], 'docs/README.md'), false)
    assert.equal(m(['docs', '!docs/README.md'], 'docs/other.md'), true)
    assert.equal(m(['docs/*', '!docs/README.md'], 'docs/README.md'), false)
    assert.equal(m(['**', '!keep', 'keep/tmp'], 'keep/tmp/x'), true)
    assert.equal(m(['**', '!keep'], 'keep/x'), false)
    assert.equal(new PatternMatcher(['a', '!b']).exclusions, true)
    assert.equal(new PatternMatcher(['a', ' ', '']).patterns.length, 1)
  })
  it('errors on malformed patterns', () => {
    assert.throws(() => new PatternMatcher(['!']), { code: 'ERR_BAD_PATTERN' })
    assert.throws(() => new PatternMatcher(['[']), { code: 'ERR_BAD_PATTERN' })
    assert.throws(() => new PatternMatcher(['a\\']), { code: 'ERR_BAD_PATTERN' })
  })
  it('the package function ignores "."', () => {
    assert.equal(matchesOrParentMatches('.', ['*']), false)
    assert.equal(matchesOrParentMatches('./a/', ['a']), true)
  })
  it('MatchesUsingParentResults carries directory results to children', () => {
    const pm = new PatternMatcher(['**/foo', '**/report'])
    const a = pm.matchesUsingParentResults('b', [])
    assert.equal(a.matched, false)
    const foo = pm.matchesUsingParentResults('b/c/foo', a.info)
    assert.equal(foo.matched, true)
    assert.deepEqual(foo.info, [true, false])
    assert.equal(pm.matchesUsingParentResults('b/c/foo/bar', foo.info).matched, true)
    // without parent info it falls back to checking every parent
    assert.equal(pm.matchesUsingParentResults('b/c/foo/bar', []).matched, true)
    const ex = new PatternMatcher(['dir', '!dir/keep'])
    const dir = ex.matchesUsingParentResults('dir', [])
    assert.equal(dir.matched, true)
    assert.equal(ex.matchesUsingParentResults('dir/keep', dir.info).matched, false)
    assert.equal(ex.matchesUsingParentResults('dir/other', dir.info).matched, true)
    assert.throws(() => ex.matchesUsingParentResults('x', [true]))
  })
})

describe('readDockerignore', () => {
  it('applies ignorefile.ReadAll rules', () => {
    const text = '\ufeff# comment\n  \nnode_modules\n/dist/\n  !  /dist/keep.txt \r\n  # not a comment\n./a/../b\n!\n*.log\n/\n'
    assert.deepEqual(readDockerignore(text), ['node_modules', 'dist', '!dist/keep.txt', '# not a comment', 'b', '!', '*.log', '/'])
    assert.deepEqual(readDockerignore(''), [])
  })
})
