/*
 * json.h: a small JSON reader for kairo-console (and its tests): parses a
 * document into a tree, looks members up by name. libc only.
 */
#ifndef KAIRO_CONSOLE_JSON_H
#define KAIRO_CONSOLE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json {
    json_type type;
    bool boolean;
    double number;
    uint64_t u64; /* a non-negative integer's exact value; else 0 */
    char *string; /* decoded, NUL-terminated */
    size_t n;     /* items of an array, members of an object */
    struct json *items;
    char **keys; /* an object's member names, beside items */
} json;

/* Parses `len` bytes at `s` into *out. Returns 0, or -1 with a message in
 * err (at most errlen bytes). *out needs json_free either way. */
int json_parse(const char *s, size_t len, json *out, char *err, size_t errlen);
void json_free(json *v);

/* The member `key` of an object, or NULL (not an object, no such key). */
const json *json_get(const json *obj, const char *key);
/* Item i of an array, or NULL. */
const json *json_at(const json *arr, size_t i);
/* A number as an unsigned integer, else `dflt`. */
uint64_t json_u64(const json *v, uint64_t dflt);
/* A string, else NULL. */
const char *json_str(const json *v);
/* The member `key` as a number / a string (json_get + the above). */
uint64_t json_get_u64(const json *obj, const char *key, uint64_t dflt);
const char *json_get_str(const json *obj, const char *key);

#endif
