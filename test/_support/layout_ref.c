// Host reference for struct views and layouts: prints, as JSON, sizeof,
// offsetof and _Alignof of every struct/field in fixtures/btf_types.h as the
// C compiler lays them out, plus one sample of each struct filled with known values
// (hex bytes + the values). On x86_64 the host layout equals the BPF one
// for these types. Built and run by test/pure/views.test.ts:
//   cc -I/usr/include/x86_64-linux-gnu -Ifixtures test/_support/layout_ref.c
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "btf_types.h"

static int first;

#define BEGIN(kind, name)                                                      \
	printf("%s\"%s\":{\"size\":%zu,\"fields\":{", first ? "" : ",", #name,    \
	       sizeof(kind name));                                             \
	first = 0;                                                             \
	int f_ = 1;
#define F(kind, name, field)                                                   \
	printf("%s\"%s\":%zu", f_ ? "" : ",", #field, offsetof(kind name, field)); \
	f_ = 0;
#define END() printf("}}");
#define ALIGN(kind, name)                                                      \
	printf("%s\"%s\":%zu", first ? "" : ",", #name, _Alignof(kind name));   \
	first = 0;

static void hex(const void *p, size_t n)
{
	const unsigned char *b = p;
	printf("\"");
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\"");
}

#define SAMPLE(name, var, values)                                              \
	printf("%s\"%s\":{\"hex\":", first ? "" : ",", name);                   \
	first = 0;                                                             \
	hex(&var, sizeof(var));                                                \
	printf(",\"values\":%s}", values);

int main(void)
{
	printf("{\"layouts\":{");
	first = 1;
	{ BEGIN(struct, exec_event) F(struct, exec_event, timestamp) F(struct, exec_event, event_type)
	  F(struct, exec_event, pid) F(struct, exec_event, ppid) F(struct, exec_event, comm)
	  F(struct, exec_event, filename) F(struct, exec_event, is_thread) F(struct, exec_event, retval) END() }
	{ BEGIN(struct, bitfields) F(struct, bitfields, tail) END() }
	{ BEGIN(struct, with_union) F(struct, with_union, kind) F(struct, with_union, un)
	  F(struct, with_union, after) END() }
	{ BEGIN(struct, packed_ev) F(struct, packed_ev, tag) F(struct, packed_ev, value)
	  F(struct, packed_ev, port) END() }
	{ BEGIN(struct, nested_arrays) F(struct, nested_arrays, matrix) F(struct, nested_arrays, shorts)
	  F(struct, nested_arrays, points) END() }
	{ BEGIN(struct, signed_vals) F(struct, signed_vals, s8) F(struct, signed_vals, s16)
	  F(struct, signed_vals, s32) F(struct, signed_vals, s64) F(struct, signed_vals, u64)
	  F(struct, signed_vals, l) F(struct, signed_vals, ul) F(struct, signed_vals, i)
	  F(struct, signed_vals, c) F(struct, signed_vals, sc) F(struct, signed_vals, uc) END() }
	{ BEGIN(struct, typedef_chain) F(struct, typedef_chain, ts) F(struct, typedef_chain, plain)
	  F(struct, typedef_chain, cv) F(struct, typedef_chain, type) F(struct, typedef_chain, big)
	  F(struct, typedef_chain, ptr) F(struct, typedef_chain, name) END() }
	{ BEGIN(struct, anon_members) F(struct, anon_members, id) F(struct, anon_members, x)
	  F(struct, anon_members, y) F(struct, anon_members, ip4) F(struct, anon_members, ip6)
	  F(struct, anon_members, flags) END() }
	{ BEGIN(union, top_union) F(union, top_union, whole) F(union, top_union, halves)
	  F(union, top_union, ev) END() }
	{ BEGIN(struct, floats) F(struct, floats, f) F(struct, floats, d) F(struct, floats, tail) END() }
	{ BEGIN(struct, signed_bitfields) F(struct, signed_bitfields, tail) END() }
	{ BEGIN(struct, process_stats) F(struct, process_stats, syscall_count)
	  F(struct, process_stats, total_time) F(struct, process_stats, max_latency) END() }
	printf("},\"aligns\":{");
	first = 1;
	ALIGN(struct, exec_event) ALIGN(struct, bitfields) ALIGN(struct, with_union)
	ALIGN(struct, packed_ev) ALIGN(struct, nested_arrays) ALIGN(struct, signed_vals)
	ALIGN(struct, typedef_chain) ALIGN(struct, anon_members) ALIGN(union, top_union)
	ALIGN(struct, floats) ALIGN(struct, signed_bitfields) ALIGN(struct, process_stats)
	printf("},\"samples\":{");
	first = 1;

	// memset first so padding bytes are zero, as a zeroed view's are.
	struct exec_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.timestamp = 0x1122334455667788ULL;
	ev.event_type = 2;
	ev.pid = 4242;
	ev.ppid = 1;
	strcpy(ev.comm, "bash");
	strcpy(ev.filename, "/usr/bin/bash");
	ev.is_thread = 1;
	ev.retval = -2;
	SAMPLE("exec_event", ev,
	       "{\"timestamp\":\"1234605616436508552\",\"event_type\":2,\"pid\":4242,\"ppid\":1,"
	       "\"comm\":\"bash\",\"filename\":\"/usr/bin/bash\",\"is_thread\":true,\"retval\":\"-2\"}")

	struct bitfields bf;
	memset(&bf, 0, sizeof(bf));
	bf.a = 5;
	bf.b = 17;
	bf.c = -33;
	bf.d = 99999;
	bf.e = 0xABCDEF1234ULL;
	bf.f = 1;
	bf.tail = 0xBEEF;
	SAMPLE("bitfields", bf,
	       "{\"a\":5,\"b\":17,\"c\":-33,\"d\":99999,\"e\":\"737894404660\",\"f\":1,\"tail\":48879}")

	struct with_union wu;
	memset(&wu, 0, sizeof(wu));
	wu.kind = 7;
	wu.un.as_u32 = 0xFFFE0102;
	wu.after = 0xFFFFFFFFFFFFFFFFULL;
	SAMPLE("with_union", wu,
	       "{\"kind\":7,\"un\":{\"as_u32\":4294836482,\"bytes\":[2,1,254,255],\"as_s16\":258},"
	       "\"after\":\"18446744073709551615\"}")

	struct packed_ev pk;
	memset(&pk, 0, sizeof(pk));
	pk.tag = 0xAA;
	pk.value = 0x0102030405060708ULL;
	pk.port = 8080;
	SAMPLE("packed_ev", pk, "{\"tag\":170,\"value\":\"72623859790382856\",\"port\":8080}")

	struct nested_arrays na;
	memset(&na, 0, sizeof(na));
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++)
			na.matrix[i][j] = i * 10 + j;
	for (int i = 0; i < 5; i++)
		na.shorts[i] = 1000 + i;
	na.points[0].x = 1;
	na.points[0].y = 100000;
	na.points[1].x = 255;
	na.points[1].y = 4000000000U;
	SAMPLE("nested_arrays", na,
	       "{\"matrix\":[[0,1,2,3],[10,11,12,13],[20,21,22,23]],\"shorts\":[1000,1001,1002,1003,1004],"
	       "\"points\":[{\"x\":1,\"y\":100000},{\"x\":255,\"y\":4000000000}]}")

	struct signed_vals sv;
	memset(&sv, 0, sizeof(sv));
	sv.s8 = -128;
	sv.s16 = -1234;
	sv.s32 = -2000000000;
	sv.s64 = -9000000000000000000LL;
	sv.u64 = 18000000000000000000ULL;
	sv.l = -5;
	sv.ul = 5;
	sv.i = -1;
	sv.c = 'A';
	sv.sc = -7;
	sv.uc = 250;
	SAMPLE("signed_vals", sv,
	       "{\"s8\":-128,\"s16\":-1234,\"s32\":-2000000000,\"s64\":\"-9000000000000000000\","
	       "\"u64\":\"18000000000000000000\",\"l\":\"-5\",\"ul\":\"5\",\"i\":-1,\"c\":65,\"sc\":-7,\"uc\":250}")

	struct typedef_chain tc;
	memset(&tc, 0, sizeof(tc));
	tc.ts = 111;
	tc.plain = 222;
	*(timestamp_t *)&tc.cv = 333;
	tc.type = EV_FORK;
	tc.big = BIG_ONE;
	tc.ptr = (void *)0xffff888012345678ULL;
	tc.name = (const char *)0x1000;
	SAMPLE("typedef_chain", tc,
	       "{\"ts\":\"111\",\"plain\":\"222\",\"cv\":\"333\",\"type\":300,\"big\":\"1\","
	       "\"ptr\":\"18446612682375452280\",\"name\":\"4096\"}")

	struct anon_members am;
	memset(&am, 0, sizeof(am));
	am.id = 9;
	am.x = 3;
	am.y = 4;
	am.ip4 = 0x0100007f;
	am.flags = 0x80;
	SAMPLE("anon_members", am,
	       "{\"id\":9,\"x\":3,\"y\":4,\"ip4\":16777343,\"ip6\":[127,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0],\"flags\":128}")

	struct floats fl;
	memset(&fl, 0, sizeof(fl));
	fl.f = 1.5f;
	fl.d = -0.1;
	fl.tail = 1;
	SAMPLE("floats", fl, "{\"f\":1.5,\"d\":-0.1,\"tail\":1}")

	struct signed_bitfields sb;
	memset(&sb, 0, sizeof(sb));
	sb.big = -(1LL << 48) - 12345;
	sb.neg = -4096;
	sb.flag = 1;
	sb.tiny = -4;
	sb.kind = EV_FORK;
	sb.mid = -524288;
	sb.top = 0xfedcba9876543210ULL;
	sb.tail = 0x5a;
	SAMPLE("signed_bitfields", sb,
	       "{\"big\":\"-281474976723001\",\"neg\":\"-4096\",\"flag\":true,\"tiny\":-4,\"kind\":300,"
	       "\"mid\":-524288,\"top\":\"18364758544493064720\",\"tail\":90}")

	union top_union tu;
	memset(&tu, 0, sizeof(tu));
	tu.ev = ev;
	SAMPLE("top_union", tu,
	       "{\"whole\":\"1234605616436508552\",\"halves\":[1432778632,287454020],\"ev\":"
	       "{\"timestamp\":\"1234605616436508552\",\"event_type\":2,\"pid\":4242,\"ppid\":1,"
	       "\"comm\":\"bash\",\"filename\":\"/usr/bin/bash\",\"is_thread\":true,\"retval\":\"-2\"}}")

	struct process_stats ps;
	memset(&ps, 0, sizeof(ps));
	ps.syscall_count = 1;
	ps.total_time = 20000000000ULL;
	ps.max_latency = 0xFFFFFFFFFFFFFFFFULL;
	SAMPLE("process_stats", ps,
	       "{\"syscall_count\":\"1\",\"total_time\":\"20000000000\",\"max_latency\":\"18446744073709551615\"}")

	printf("}}\n");
	return 0;
}
