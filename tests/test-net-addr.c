/*
 * Socket addresses: parsing good and bad input, ports out of range,
 * formatting back to text, Unix paths, the small helpers.
 * (No runtime is involved; both flavors run it all the same.)
 * KR_TEST_FLAVORS: ct mt
 */
#include <sys/mman.h>

#include "test-net.h"

/* Parses `text` and formats it back; expects `formatted`. */
static void roundtrip(const char *text, int family, int port,
                      const char *formatted) {
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse(text, &a), 0);
    assert_int_equal(kr_sockaddr_family(&a), family);
    assert_int_equal(kr_sockaddr_port(&a), port);
    char buf[KR_SOCKADDR_STRLEN];
    int n = kr_sockaddr_format(&a, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(formatted));
    assert_string_equal(buf, formatted);
    /* What it formats to parses to the same address. */
    kr_sockaddr b;
    assert_rc(kr_sockaddr_parse(buf, &b), 0);
    assert_true(kr_sockaddr_equal(&a, &b));
}

static void parse_ipv4(void **state) {
    (void)state;
    roundtrip("1.2.3.4:80", AF_INET, 80, "1.2.3.4:80");
    roundtrip("127.0.0.1:0", AF_INET, 0, "127.0.0.1:0");
    roundtrip("255.255.255.255:65535", AF_INET, 65535, "255.255.255.255:65535");
    roundtrip("0.0.0.0:00080", AF_INET, 80, "0.0.0.0:80");
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("10.0.0.1:443", &a), 0);
    const struct sockaddr_in *in = (const void *)&a.storage;
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(in->sin_family, AF_INET);
    assert_int_equal(ntohs(in->sin_port), 443);
    assert_int_equal(ntohl(in->sin_addr.s_addr), 0x0a000001);
}

static void parse_ipv6(void **state) {
    (void)state;
    roundtrip("[::1]:80", AF_INET6, 80, "[::1]:80");
    roundtrip("[::]:0", AF_INET6, 0, "[::]:0");
    roundtrip("[2001:db8::1]:8080", AF_INET6, 8080, "[2001:db8::1]:8080");
    roundtrip("[2001:DB8:0:0:0:0:0:1]:1", AF_INET6, 1, "[2001:db8::1]:1");
    roundtrip("[::ffff:1.2.3.4]:9", AF_INET6, 9, "[::ffff:1.2.3.4]:9");
    roundtrip("[fe80::1%7]:22", AF_INET6, 22, "[fe80::1%7]:22");
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("[fe80::1%lo]:22", &a), 0); /* by name */
    const struct sockaddr_in6 *in6 = (const void *)&a.storage;
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    assert_int_not_equal(in6->sin6_scope_id, 0);
    assert_int_equal(in6->sin6_scope_id, if_nametoindex("lo"));
}

static void parse_bad_inputs(void **state) {
    (void)state;
    static const char *bad[] = {
        "",
        ":",
        ":80",
        "1.2.3.4",      /* no port */
        "1.2.3.4:",     /* empty port */
        "1.2.3.4:http", /* named port */
        "1.2.3.4:+80",
        "1.2.3.4:-1",
        "1.2.3.4:80 ", /* spaces */
        " 1.2.3.4:80",
        "1.2.3.4 :80",
        "1.2.3:80", /* inet_aton's shorthand */
        "1.2.3.4.5:80",
        "256.1.1.1:80",
        "01.2.3.4:80", /* leading zero: octal in some parsers */
        "0x7f.0.0.1:80",
        "localhost:80", /* a name, not an address */
        "::1:80",       /* IPv6 without brackets */
        "::1",
        "[::1]", /* no port */
        "[::1]:",
        "[::1]80",
        "[::1]:80:",
        "[[::1]]:80",
        "[::1:80",
        "::1]:80",
        "[1.2.3.4]:80", /* brackets are for IPv6 */
        "[::g]:80",
        "[fe80::1%]:80", /* empty scope */
        "[fe80::1%nosuchif0]:80",
        "1.2.3.4%1:80", /* a scope on IPv4 */
        "[::1]:80x",
        "1.2.3.4:80\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kr_sockaddr a;
        memset(&a, 0x5a, sizeof(a));
        int rc = kr_sockaddr_parse(bad[i], &a);
        if (rc != KR_EINVAL)
            fail_msg("\"%s\" parsed: %d", bad[i], rc);
        assert_int_equal(a.len, 0); /* zeroed on failure */
    }
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse(NULL, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("1.2.3.4:80", NULL), KR_EINVAL);
}

static void ports_out_of_range(void **state) {
    (void)state;
    kr_sockaddr a;
    assert_rc(kr_sockaddr_parse("1.2.3.4:65536", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("1.2.3.4:99999", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("1.2.3.4:100000", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("1.2.3.4:4294967376", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("[::1]:65536", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_parse("[::1]:65535", &a), 0);
    assert_rc(kr_sockaddr_from_ip("::1", -1, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip("::1", 65536, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip("::1", 65535, &a), 0);
    assert_rc(kr_sockaddr_set_port(&a, 70000), KR_EINVAL);
    assert_rc(kr_sockaddr_set_port(&a, -5), KR_EINVAL);
    assert_int_equal(kr_sockaddr_port(&a), 65535);
    assert_rc(kr_sockaddr_set_port(&a, 7), 0);
    assert_int_equal(kr_sockaddr_port(&a), 7);
}

static void from_ip_literals(void **state) {
    (void)state;
    kr_sockaddr a;
    char buf[KR_SOCKADDR_STRLEN];
    assert_rc(kr_sockaddr_from_ip("127.0.0.1", 8080, &a), 0);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 14);
    assert_string_equal(buf, "127.0.0.1:8080");
    assert_rc(kr_sockaddr_from_ip("::1", 53, &a), 0);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "[::1]:53");
    assert_rc(kr_sockaddr_from_ip("[::1]", 53, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip("127.0.0.1:80", 53, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip("", 53, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip(NULL, 53, &a), KR_EINVAL);
    assert_rc(kr_sockaddr_from_ip("::1", 53, NULL), KR_EINVAL);
}

static void unix_paths(void **state) {
    (void)state;
    kr_sockaddr a;
    char buf[KR_SOCKADDR_STRLEN];
    assert_rc(kr_sockaddr_unix("/tmp/x.sock", &a), 0);
    assert_int_equal(kr_sockaddr_family(&a), AF_UNIX);
    assert_int_equal(kr_sockaddr_port(&a), KR_EINVAL);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "/tmp/x.sock");
    assert_rc(kr_sockaddr_unix("@kairo-abstract", &a), 0);
    assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) + 15);
    assert_int_equal(((const struct sockaddr_un *)&a.storage)->sun_path[0], 0);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "@kairo-abstract");
    char longp[200];
    memset(longp, 'a', sizeof(longp));
    longp[0] = '/';
    longp[107] = '\0'; /* 107 bytes: the most that fits with the NUL */
    assert_rc(kr_sockaddr_unix(longp, &a), 0);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 107);
    longp[107] = 'a';
    longp[108] = '\0';
    assert_rc(kr_sockaddr_unix(longp, &a), KR_ENAMETOOLONG);
    assert_rc(kr_sockaddr_unix("", &a), KR_EINVAL);
    assert_rc(kr_sockaddr_unix(NULL, &a), KR_EINVAL);
    /* Unnamed: just the family. */
    memset(&a, 0, sizeof(a));
    a.storage.family = AF_UNIX;
    a.len = offsetof(struct sockaddr_un, sun_path);
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void format_errors(void **state) {
    (void)state;
    kr_sockaddr a;
    char buf[KR_SOCKADDR_STRLEN];
    assert_rc(kr_sockaddr_parse("[2001:db8::1]:8080", &a), 0);
    char small[8];
    assert_int_equal(kr_sockaddr_format(&a, small, sizeof(small)), KR_ERANGE);
    assert_string_equal(small, "");
    assert_int_equal(kr_sockaddr_format(&a, buf, 18), KR_ERANGE); /* 18+NUL */
    assert_int_equal(kr_sockaddr_format(&a, buf, 19), 18);
    assert_int_equal(kr_sockaddr_format(NULL, buf, sizeof(buf)), KR_EINVAL);
    assert_int_equal(kr_sockaddr_format(&a, NULL, 10), KR_EINVAL);
    assert_int_equal(kr_sockaddr_format(&a, buf, 0), KR_EINVAL);
    memset(&a, 0, sizeof(a)); /* empty */
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), KR_EINVAL);
    assert_int_equal(kr_sockaddr_family(&a), KR_EINVAL);
    assert_int_equal(kr_sockaddr_port(&a), KR_EINVAL);
    assert_int_equal(kr_sockaddr_family(NULL), KR_EINVAL);
    a.storage.family = AF_INET;
    a.len = 3; /* a length that does not fit the family */
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), KR_EINVAL);
    assert_int_equal(kr_sockaddr_port(&a), KR_EINVAL);
    a.storage.family = 12345;
    a.len = 16;
    assert_int_equal(kr_sockaddr_format(&a, buf, sizeof(buf)), KR_EINVAL);
}

static void equality(void **state) {
    (void)state;
    kr_sockaddr a, b;
    assert_rc(kr_sockaddr_parse("1.2.3.4:80", &a), 0);
    assert_rc(kr_sockaddr_from_ip("1.2.3.4", 80, &b), 0);
    assert_true(kr_sockaddr_equal(&a, &b));
    assert_rc(kr_sockaddr_set_port(&b, 81), 0);
    assert_false(kr_sockaddr_equal(&a, &b));
    assert_rc(kr_sockaddr_parse("[::ffff:1.2.3.4]:80", &b), 0);
    assert_false(kr_sockaddr_equal(&a, &b)); /* different families */
    assert_rc(kr_sockaddr_parse("[fe80::1%1]:80", &a), 0);
    assert_rc(kr_sockaddr_parse("[fe80::1%2]:80", &b), 0);
    assert_false(kr_sockaddr_equal(&a, &b)); /* different scopes */
    assert_rc(kr_sockaddr_unix("/a", &a), 0);
    assert_rc(kr_sockaddr_unix("/a", &b), 0);
    assert_true(kr_sockaddr_equal(&a, &b));
    assert_rc(kr_sockaddr_unix("/b", &b), 0);
    assert_false(kr_sockaddr_equal(&a, &b));
    assert_true(kr_sockaddr_equal(NULL, NULL));
    assert_false(kr_sockaddr_equal(&a, NULL));
}

/* A length past the storage (fuzzing found it) must not make the compare
 * read past the struct: the address sits just before a page that faults
 * on any access, so an over-read crashes in every build, not only ASan. */
static void equal_rejects_length_past_storage(void **state) {
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    kr_sockaddr *a = (kr_sockaddr *)(map + page - sizeof(kr_sockaddr));
    kr_sockaddr b;
    assert_rc(kr_sockaddr_unix("/a", a), 0);
    const uint32_t lens[] = {4096, UINT32_MAX, sizeof(kr_sockaddr) + 1,
                             sizeof(a->storage) + 1};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        a->len = lens[i];
        memcpy(&b, a, sizeof(b)); /* byte for byte, padding included */
        assert_false(kr_sockaddr_equal(a, &b));
        assert_false(kr_sockaddr_equal(&b, a));
        assert_false(kr_sockaddr_equal(a, a));
        a->storage.family = AF_INET; /* the IP families too */
        memcpy(&b, a, sizeof(b));
        assert_false(kr_sockaddr_equal(a, &b));
        a->storage.family = AF_UNIX;
    }
    /* As the other address functions, which reject such a length. */
    char buf[KR_SOCKADDR_STRLEN];
    assert_int_equal(kr_sockaddr_format(a, buf, sizeof(buf)), KR_EINVAL);
    assert_int_equal(munmap(map, (size_t)page * 2), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_ipv4),
    cmocka_unit_test(parse_ipv6),
    cmocka_unit_test(parse_bad_inputs),
    cmocka_unit_test(ports_out_of_range),
    cmocka_unit_test(from_ip_literals),
    cmocka_unit_test(unix_paths),
    cmocka_unit_test(format_errors),
    cmocka_unit_test(equality),
    cmocka_unit_test(equal_rejects_length_past_storage),
};
KR_TEST_MAIN(tests)
