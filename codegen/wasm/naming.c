/*
 * Port of codegen/naming.ts: the C names of the declarables (and of the
 * named typedefs and vars), derived as nameTable derives them: own names,
 * then typedef names of anonymous targets, then breadth first from the
 * sorted parents (`parent__member`, `parent__anon<k>`), then var names,
 * then `enum__<first>` / `anon_<kind>__<id>`.
 *
 * Every name kept here is ASCII. A name that is not a plain identifier
 * (TS: setString of g.name(), e.g. the `func.____fmt` vars bpf_printk
 * makes) is taken only from a string section that is all ASCII, where TS
 * reads names as substrings of the decoded section, so its UTF-8 is the
 * section's bytes and string order is byte order; anything else (a
 * non-ASCII section, an offset TS would throw on) bails.
 */
#include "gen.h"

/* Longest qualifier/array/pointer chain followed (hostile BTF may loop). */
#define MAX_HOPS 32

/*
 * Length of the plain name at `off` of `s` (NUL-terminated ASCII identifier
 * bytes), 0 for an empty one, -1 when it is not plain or `off` is outside
 * `s` (or its bytes run to the end of `s` without a NUL): plainLength.
 */
static int32_t plain_length(const uint8_t *s, uint32_t sl, int32_t off) {
  if (!(off >= 0 && (uint32_t)off < sl)) return -1;
  uint8_t c = s[off];
  if (c == 0) return 0;
  if (IDENT[c] != 1) return -1;
  /* flat_read made sure the section ends with a NUL: the scan stops. */
  uint32_t j = (uint32_t)off;
  do
    c = s[++j];
  while (IDENT[c] > 0);
  return c == 0 ? (int32_t)(j - (uint32_t)off) : -1;
}

/* 1 when the string section has no byte >= 0x80, 0 if it has, -1 unknown. */
static int ascii_section = -1;

/*
 * The OR of the 64-bit words of `s`, 32 bytes a step, `n` a multiple of
 * 32. Called per 64 KiB: engines run a loop in the tier its call started
 * in (V8 has no OSR for wasm), so later calls run optimised.
 */
__attribute__((noinline)) static uint64_t or_words(const uint8_t *s,
                                                   uint32_t n) {
  uint64_t any = 0, a1 = 0, a2 = 0, a3 = 0;
  for (uint32_t i = 0; i < n; i += 32) {
    uint64_t w[4];
    __builtin_memcpy(w, s + i, 32); /* four loads, not a call */
    any |= w[0];
    a1 |= w[1];
    a2 |= w[2];
    a3 |= w[3];
  }
  return any | a1 | a2 | a3;
}

/* Whether the string section is all ASCII (scanned once). */
static int is_ascii_section(const Flat *f) {
  if (ascii_section < 0) {
    const uint8_t *s = f->strings;
    uint32_t sl = f->stringsLen, i = 0;
    uint64_t any = 0;
    while (sl - i >= 32) {
      uint32_t n = (sl - i) & ~31u;
      if (n > 1u << 16) n = 1u << 16;
      any |= or_words(s + i, n);
      i += n;
    }
    for (; i < sl; i++) any |= s[i];
    ascii_section = (any & 0x8080808080808080ull) == 0;
  }
  return ascii_section;
}

/*
 * The bytes of the name at `off` that is not plain (a Names.get() that
 * TS does through strings): its length goes to *n. Bails unless the
 * section is all ASCII and `off` inside it (else TS decodes UTF-8, or
 * throws).
 */
static const uint8_t *ascii_name(const Flat *f, int32_t off, uint32_t *n) {
  const uint8_t *s = f->strings;
  uint32_t sl = f->stringsLen;
  if (!is_ascii_section(f) || !(off >= 0 && (uint32_t)off < sl)) gen_bail();
  uint32_t j = (uint32_t)off;
  while (j < sl && s[j]) j++;
  if (j >= sl) gen_bail(); /* no NUL: StringTable refuses such a section */
  *n = j - (uint32_t)off;
  return s + off;
}

/* setString's plain test over the `n` bytes at `at` of `b`. */
static int is_plain(const uint8_t *b, uint32_t at, uint32_t n) {
  if (n == 0 || IDENT[b[at]] != 1) return 0;
  for (uint32_t i = at + 1; i < at + n; i++)
    if (IDENT[b[i]] == 0) return 0;
  return 1;
}

/* Names `id` with the plain name of `n` bytes at `at` of `src`: setPlain. */
static void set_plain(CNames *names, int32_t id, const uint8_t *src,
                      uint32_t at, uint32_t n) {
  Bytes *out = &names->out;
  bytes_reserve(out, n + 8);
  names->off[id] = (int32_t)out->pos;
  names->len[id] = (int32_t)n;
  names->plain[id] = 1;
  copy_over(out->buf + out->pos, src + at, n);
  out->pos += n;
}

/*
 * Names `id` with `prefix` then `n` bytes of `src` (or, when `src` is null,
 * the decimal `num`): the setString calls of nameTable (ASCII here).
 */
static void set_joined(CNames *names, int32_t id, const char *prefix,
                       const uint8_t *src, uint32_t n, uint32_t num) {
  Bytes *out = &names->out;
  uint32_t at = out->pos;
  bytes_lit(out, prefix);
  if (src)
    bytes_put(out, src, n);
  else
    bytes_uint(out, num);
  uint32_t end = out->pos;
  names->off[id] = (int32_t)at;
  names->len[id] = (int32_t)(end - at);
  names->plain[id] = (uint8_t)is_plain(out->buf, at, end - at);
}

/* Names are ASCII here: string order is byte order, plain or not. */
int32_t cnames_compare(const CNames *n, int32_t a, int32_t b) {
  const uint8_t *s = n->out.buf;
  int32_t na = n->len[a], nb = n->len[b];
  const uint8_t *x = s + n->off[a], *y = s + n->off[b];
  int32_t m = na < nb ? na : nb;
  for (int32_t i = 0; i < m; i++) {
    int32_t d = (int32_t)x[i] - (int32_t)y[i];
    if (d != 0) return d;
  }
  return na - nb;
}

int cnames_same(const CNames *n, int32_t a, int32_t b) {
  int32_t len = n->len[a];
  if (len != n->len[b]) return 0;
  if (len == 0) return 1;
  const uint8_t *s = n->out.buf;
  return memcmp(s + n->off[a], s + n->off[b], (size_t)len) == 0;
}

/*
 * The anonymous declarable a use of `id` refers to: through qualifiers
 * (and, unless `only_qualifiers`, arrays and pointers), but not through a
 * typedef (which names its target itself) nor a named type. -1 when none.
 */
static int32_t anonymous_use(const Flat *f, const CNames *names, int32_t id,
                             int only_qualifiers) {
  const int8_t *kind = f->kind;
  const int32_t *ref = f->ref;
  int32_t count = f->count;
  for (int i = 0; i < MAX_HOPS; i++) {
    int k = id >= 0 && id <= count ? kind[id] : -1;
    switch (k) {
    case K_CONST:
    case K_VOLATILE:
    case K_RESTRICT:
    case K_TYPE_TAG:
      id = ref[id];
      break;
    case K_PTR:
    case K_ARRAY:
      if (only_qualifiers) return -1;
      id = ref[id];
      break;
    default:
      /* Named declarables got their names in the first pass. */
      return is_declarable_kind(k) && names->off[id] < 0 ? id : -1;
    }
  }
  return -1;
}

/*
 * The breadth-first walk of rule 2 (the Drain class): each parent names
 * the anonymous types of its members, which become parents in turn.
 */
typedef struct {
  const Flat *f;
  CNames *names;
  int32_t *queue;
  int32_t cap;
  int32_t head;
  int32_t tail;
  /*
   * anonymous_use(id, false) + 2 by id, 0 until asked: fresh memory is
   * zero, so no pass over all ids sets it up, and only the pages of the
   * ids asked about are touched.
   */
  int32_t *memo;
} Drain;

static void drain_queue(Drain *d, int32_t id) {
  if (d->tail >= d->cap) gen_bail(); /* cannot happen: each id once */
  d->queue[d->tail++] = id;
}

/* Queues `id` as a parent when it is a struct or union. */
static void drain_push(Drain *d, int32_t id) {
  if (is_composite_kind(d->f->kind[id])) drain_queue(d, id);
}

/* The anonymous declarable a member of type `id` holds, or -1. */
static int32_t drain_use(Drain *d, int32_t id) {
  if (!(id >= 0 && id <= d->f->count))
    return anonymous_use(d->f, d->names, id, 0);
  int32_t r = d->memo[id] - 2;
  if (r == -2) {
    r = anonymous_use(d->f, d->names, id, 0);
    d->memo[id] = r + 2;
  }
  return r;
}

/*
 * Names the anonymous types of `parent`'s members (queueing the composite
 * ones). One call per parent, not one loop over all of them: engines
 * compile a function for their faster tiers between calls (V8 has no OSR
 * for wasm), so a cold run soon runs this compiled.
 */
__attribute__((noinline)) static void drain_parent(Drain *d, int32_t parent) {
  const Flat *f = d->f;
  CNames *names = d->names;
  const uint8_t *s = f->strings;
  uint32_t sl = f->stringsLen;
  int32_t count = f->count;
  int32_t *off = names->off, *len = names->len;
  uint8_t *plain = names->plain;
  Bytes *out = &names->out;
  uint32_t k = 0;
  const int32_t *memo = d->memo;
  int32_t m0 = f->first[parent];
  const int32_t *mName = f->mName + m0;
  const uint32_t *mType = f->mType + m0;
  for (int32_t i = 0, n = f->vlen[parent]; i < n; i++) {
    int32_t mo = mName[i];
    int unnamed;
    if (mo == 0)
      unnamed = 1;
    else if (mo > 0 && (uint32_t)mo < sl)
      unnamed = s[mo] == 0;
    else
      gen_bail(); /* TS: memberHasName throws on the offset */
    uint32_t slot = unnamed ? k++ : 0;
    uint32_t t = mType[i];
    /* drain_use, its memo read here (a call per member costs more). */
    int32_t child = -1;
    if (t <= (uint32_t)count) {
      child = memo[t] - 2;
      if (child == -2) child = drain_use(d, (int32_t)t);
    }
    if (child < 0 || off[child] >= 0) continue;
    /* Plain name length (0 when unnamed), or -1: TS asks the graph. */
    int32_t ml = unnamed ? 0 : plain_length(s, sl, mo);
    const uint8_t *mb = s + mo;
    uint32_t mn = (uint32_t)ml;
    /* As TS's byte path, or its setString of the same (ASCII) text. */
    int fast = plain[parent] && (unnamed || ml > 0);
    if (!unnamed && ml < 0) mb = ascii_name(f, mo, &mn);
    /* parent + "__" + member, or + "__anon<k>", as bytes. */
    uint32_t pl = (uint32_t)len[parent];
    bytes_reserve(out, pl + 2 + (unnamed ? 4 + 10 : mn) + 8);
    uint8_t *b = out->buf;
    uint32_t po = (uint32_t)off[parent];
    uint32_t p = out->pos;
    copy_over(b + p, b + po, pl);
    p += pl;
    b[p++] = '_';
    b[p++] = '_';
    if (unnamed) {
      b[p++] = 'a';
      b[p++] = 'n';
      b[p++] = 'o';
      b[p++] = 'n';
      p = put_uint(b, p, slot);
    } else {
      copy_over(b + p, mb, mn);
      p += mn;
    }
    off[child] = (int32_t)out->pos;
    len[child] = (int32_t)(p - out->pos);
    plain[child] = fast ? 1 : (uint8_t)is_plain(b, out->pos, p - out->pos);
    out->pos = p;
    if (is_composite_kind(f->kind[child])) drain_queue(d, child);
  }
}

/* Names the members' anonymous types of every queued parent. */
static void drain_run(Drain *d) {
  while (d->head < d->tail) drain_parent(d, d->queue[d->head++]);
}

/* Gives `to` the name of `from` (the same bytes). */
static void share_name(CNames *names, int32_t to, int32_t from) {
  names->off[to] = names->off[from];
  names->len[to] = names->len[from];
  names->plain[to] = names->plain[from];
}

/*
 * The last rule for a declarable still unnamed: `enum__<first>`, or
 * `anon_<kind>__<id>` (whose members are named then, breadth first). A
 * function per id for the engines' tiers (see drain_parent).
 */
__attribute__((noinline)) static void name_anon(Drain *d, int32_t id) {
  const Flat *f = d->f;
  CNames *names = d->names;
  int k = f->kind[id];
  if (k == K_ENUM || k == K_ENUM64) {
    if (f->vlen[id] > 0) {
      /*
       * `enum__${g.enumName(id, 0)}`: TS reads it through Names.get,
       * which for a section that is not all ASCII decodes with a budget
       * (StringTable.get) that hostile offsets can exhaust: bail there.
       */
      if (!is_ascii_section(f)) gen_bail();
      const uint8_t *s = f->strings;
      int32_t eo = f->mName[f->first[id]];
      int32_t el = plain_length(s, f->stringsLen, eo);
      uint32_t en = (uint32_t)el;
      const uint8_t *eb = s + (el > 0 ? eo : 0);
      if (el < 0) eb = ascii_name(f, eo, &en);
      set_joined(names, id, "enum__", eb, en, 0);
    } else
      set_joined(names, id, "anon_enum__", 0, 0, (uint32_t)id);
  } else {
    set_joined(names, id, k == K_STRUCT ? "anon_struct__" : "anon_union__", 0,
               0, (uint32_t)id);
    drain_push(d, id);
    drain_run(d);
  }
}

/* The lists nameTable's first pass sorts the wanted ids into. */
typedef struct {
  int32_t *declarable, *typedefs, *vars, *anon, *queue;
  int32_t nd, nt, nv, na, nq;
} Lists;

/*
 * Rule 1 for wanted `id`: its own name (plain, or the bytes of one that is
 * not), and the lists it goes to. A function per id for the engines' tiers
 * (see drain_parent).
 */
__attribute__((noinline)) static void name_own(const Flat *f, CNames *names,
                                               Lists *l, int32_t id) {
  int k = f->kind[id];
  int32_t off = f->name[id];
  int32_t n = plain_length(f->strings, f->stringsLen, off);
  if (n > 0)
    set_plain(names, id, f->strings, (uint32_t)off, (uint32_t)n);
  else if (n < 0 && off != 0) {
    /* TS: g.named(), then setString(g.name()) (or it throws). */
    uint32_t ln;
    const uint8_t *nb = ascii_name(f, off, &ln);
    set_joined(names, id, "", nb, ln, 0);
  }
  int named = names->off[id] >= 0;
  if (is_declarable_kind(k)) {
    l->declarable[l->nd++] = id;
    if (!named)
      l->anon[l->na++] = id;
    else if (is_composite_kind(k))
      l->queue[l->nq++] = id;
  } else if (named) {
    if (k == K_TYPEDEF)
      l->typedefs[l->nt++] = id;
    else
      l->vars[l->nv++] = id;
  }
}

void name_table(const Flat *f, CNames *names) {
  const int8_t *kind = f->kind;
  uint32_t n1 = (uint32_t)f->count + 1;
  bytes_init(&names->out, 1 << 16);
  names->off = gen_alloc(4 * n1);
  memset(names->off, 0xff, 4 * n1);
  names->len = gen_alloc(4 * n1);
  names->plain = gen_alloc(n1);
  int32_t nw;
  const int32_t *wanted = flat_wanted(f, &nw);
  uint32_t wb = 4 * (uint32_t)nw + 4;
  int32_t *declarable = gen_alloc(wb), *typedefs = gen_alloc(wb);
  int32_t *vars = gen_alloc(wb), *anon = gen_alloc(wb);
  /* Composite parents: the named ones now, typedef-named ones later. */
  int32_t *queue = gen_alloc(wb);
  Lists l = {declarable, typedefs, vars, anon, queue, 0, 0, 0, 0, 0};
  for (int32_t i = 0; i < nw; i++) name_own(f, names, &l, wanted[i]);
  int32_t nd = l.nd, nt = l.nt, nv = l.nv, na = l.na, nq = l.nq;
  names->declarable = declarable;
  names->nDeclarable = nd;
  names->typedefs = typedefs;
  names->nTypedefs = nt;

  /*
   * The first typedef in (name, id) order names its anonymous target: the
   * least name wins, and ids ascend, so a tie keeps the earlier one. The
   * target points at the typedef's bytes.
   */
  int32_t *namer = gen_alloc(4 * n1);
  for (int32_t i = 0; i < nt; i++) {
    int32_t td = typedefs[i];
    int32_t target = anonymous_use(f, names, f->ref[td], 1);
    if (target < 0) continue;
    int32_t cur = namer[target];
    if (cur == 0 || cnames_compare(names, td, cur) < 0) namer[target] = td;
  }
  for (int32_t i = 0; i < na; i++) {
    int32_t id = anon[i];
    int32_t td = namer[id];
    if (td == 0) continue;
    share_name(names, id, td);
    if (is_composite_kind(kind[id])) queue[nq++] = id;
  }

  Drain d;
  d.f = f;
  d.names = names;
  d.cap = nq + na;
  d.queue = gen_alloc(4 * (uint32_t)d.cap + 4);
  /* sort_by_name reads names 8 bytes at a time: room past the last. */
  bytes_reserve(&names->out, 8);
  int32_t *sorted = sort_by_name(queue, nq, names, kind);
  int32_t nq0 = nq;
  memcpy(d.queue, sorted, 4 * (uint32_t)nq);
  d.head = 0;
  d.tail = nq;
  d.memo = gen_alloc(4 * n1);
  drain_run(&d);

  bytes_reserve(&names->out, 8);
  const int32_t *vs = sort_by_name(vars, nv, names, kind);
  for (int32_t i = 0; i < nv; i++) {
    int32_t v = vs[i];
    int32_t child = drain_use(&d, f->ref[v]);
    if (child < 0 || names->off[child] >= 0) continue;
    share_name(names, child, v);
    drain_push(&d, child);
  }
  drain_run(&d);

  for (int32_t i = 0; i < na; i++)
    if (names->off[anon[i]] < 0) name_anon(&d, anon[i]);
  bytes_reserve(&names->out, 8);

  /*
   * The declarables in output order: the sorted parents (their names were
   * final when they were sorted) merged with the others, sorted. Sorting
   * all of them would sort the parents, two thirds of vmlinux's, again.
   */
  uint8_t *parent = gen_alloc(n1);
  for (int32_t i = 0; i < nq0; i++) parent[sorted[i]] = 1;
  int32_t *rest = anon, nr = 0; /* anon's ids are all named now: reused */
  for (int32_t i = 0; i < nd; i++)
    if (!parent[declarable[i]]) rest[nr++] = declarable[i];
  const int32_t *others = sort_by_name(rest, nr, names, kind);
  names->order = merge_by_name(sorted, nq0, others, nr, names, kind);
}
