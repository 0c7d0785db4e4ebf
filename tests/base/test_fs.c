/* test_fs.c - file-name safety shared by every reader of names from outside files
 * (tensor-cache dataPath, chat-config tokenizer_files, safetensors index shards). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aae_test.h"
#include "base/fs.h"
#include "format/chat_config.h"

AAE_TEST(plain_file_names_accepted)
{
    AAE_CHECK(aae_is_plain_file_name("params_shard_0.bin"));
    AAE_CHECK(aae_is_plain_file_name("tokenizer.json"));
    AAE_CHECK(aae_is_plain_file_name("model-00001-of-00002.safetensors"));
    AAE_CHECK(aae_is_plain_file_name("a..b"));
}

AAE_TEST(escaping_or_hidden_names_refused)
{
    static const char *const bad[] = {"", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b", "..\\x", ".hidden",
                                      "a\nb", "a\tb", "a\x7f" "b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (aae_is_plain_file_name(bad[i])) {
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
            AAE_CHECK(!"an unsafe name was accepted");
        }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    AAE_CHECK(!aae_is_plain_file_name(longname));
}

/* A FIFO where a file is expected (an outside file can name one) fails at once
 * instead of blocking forever in open(). */
AAE_TEST(fifo_is_refused_without_blocking)
{
    char dir[] = "/tmp/aae_test_fs.XXXXXX";
    if (!mkdtemp(dir)) {
        AAE_CHECK(!"mkdtemp");
        return;
    }
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    AAE_CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    alarm(10); /* a regression hangs: let SIGALRM fail the test */
    char *buf = NULL;
    size_t len = 0;
    aae_error err;
    AAE_CHECK_EQ_INT(aae_read_file(fifo, 1 << 20, &buf, &len, &err), AAE_ERR_IO);
    AAE_CHECK_CONTAINS(err.msg, "not a regular file");
    aae_mmap m;
    AAE_CHECK_EQ_INT(aae_mmap_file(fifo, &m, &err), AAE_ERR_IO);
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

/* Bytes of address space the process has mapped (0 where /proc is missing). */
static unsigned long long mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    unsigned long long total = 0, lo, hi;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%llx-%llx", &lo, &hi) == 2)
            total += hi - lo;
    fclose(f);
    return total;
}

/* Shards are mapped at a 2 MiB boundary on Linux (the loader's huge-page advice):
 * every byte reads back, the size is exact for sizes around the boundary, and
 * mapping and unmapping leaves no reservation behind. */
AAE_TEST(mmap_reads_every_byte_at_any_size)
{
    char dir[] = "/tmp/aae_test_fs.XXXXXX";
    if (!mkdtemp(dir)) {
        AAE_CHECK(!"mkdtemp");
        return;
    }
    static const size_t sizes[] = {0, 1, 4095, 4097, ((size_t)2 << 20) - 1, (size_t)2 << 20, ((size_t)3 << 20) + 7,
                                   ((size_t)4 << 20) + 4096};
    char path[64];
    snprintf(path, sizeof path, "%s/shard.bin", dir);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *want = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            want[j] = (uint8_t)(j * 2654435761u >> 13);
        FILE *f = fopen(path, "wb");
        AAE_CHECK(f && fwrite(want, 1, n, f) == n);
        if (f)
            fclose(f);
        aae_mmap m;
        aae_error err;
        AAE_CHECK_EQ_INT(aae_mmap_file(path, &m, &err), AAE_OK);
        AAE_CHECK_EQ_INT((long long)m.size, (long long)n);
        AAE_CHECK(n == 0 || (m.data && memcmp(m.data, want, n) == 0));
#ifdef __linux__
        if (n >= ((size_t)2 << 20))
            AAE_CHECK((uintptr_t)m.data % ((size_t)2 << 20) == 0);
#endif
        aae_munmap(&m);
        AAE_CHECK(m.data == NULL && m.size == 0);
        free(want);
    }
    unsigned long long before = mapped_bytes();
    for (int r = 0; r < 64; r++) {
        aae_mmap m;
        aae_error err;
        AAE_CHECK_EQ_INT(aae_mmap_file(path, &m, &err), AAE_OK);
        aae_munmap(&m);
    }
    AAE_CHECK(mapped_bytes() <= before + ((size_t)1 << 20)); /* 64 leaks would be 64 x 4+ MiB */
    unlink(path);
    rmdir(dir);
}

static void touch(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
}

/* Our file name first, MLC-LLM's as the fallback, one rule for every reader. */
AAE_TEST(find_file_or_alt)
{
    char dir[] = "/tmp/aae_test_fs.XXXXXX";
    if (!mkdtemp(dir)) {
        AAE_CHECK(!"mkdtemp");
        return;
    }
    char out[256], want[256];
    AAE_CHECK_EQ_INT(aae_find_file_or_alt(out, sizeof out, dir, "ours.json", "mlc.json"), 0);
    snprintf(want, sizeof want, "%s/ours.json", dir);
    AAE_CHECK_EQ_STR(out, want);
    touch(dir, "mlc.json");
    AAE_CHECK_EQ_INT(aae_find_file_or_alt(out, sizeof out, dir, "ours.json", "mlc.json"), 1);
    snprintf(want, sizeof want, "%s/mlc.json", dir);
    AAE_CHECK_EQ_STR(out, want);
    touch(dir, "ours.json");
    AAE_CHECK_EQ_INT(aae_find_file_or_alt(out, sizeof out, dir, "ours.json", "mlc.json"), 1);
    snprintf(want, sizeof want, "%s/ours.json", dir);
    AAE_CHECK_EQ_STR(out, want);
    char small[24];
    AAE_CHECK_EQ_INT(aae_find_file_or_alt(small, sizeof small, dir, "ours.json", "a-much-longer-name.json"), -1);
    snprintf(want, sizeof want, "%s/ours.json", dir);
    unlink(want);
    snprintf(want, sizeof want, "%s/mlc.json", dir);
    unlink(want);
    rmdir(dir);
}

static int chat_config_ok(const char *json)
{
    aae_chat_config *cfg = NULL;
    aae_error err;
    aae_status st = aae_chat_config_parse(json, strlen(json), "t.json", &cfg, &err);
    aae_chat_config_free(cfg);
    return st == AAE_OK;
}

/* "." names the model directory itself and a newline would forge log lines: both are
 * refused in tokenizer_files, as in every other list of file names. */
AAE_TEST(chat_config_tokenizer_files)
{
    static const char *const head =
        "{\"model_type\": \"llama\", \"quantization\": \"q0f32\", \"vocab_size\": 32, \"context_window_size\": 16, "
        "\"prefill_chunk_size\": 16, \"model_config\": {\"hidden_size\": 8, \"intermediate_size\": 16, "
        "\"num_attention_heads\": 2, \"num_hidden_layers\": 1, \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-5, "
        "\"vocab_size\": 32}, \"tokenizer_files\": ";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s[\"tokenizer.json\"]}", head);
    int good = chat_config_ok(buf);
    AAE_CHECK(good);
    if (!good)
        return;
    snprintf(buf, sizeof buf, "%s[\".\"]}", head);
    AAE_CHECK(!chat_config_ok(buf));
    snprintf(buf, sizeof buf, "%s[\"tok\\nenizer.json\"]}", head);
    AAE_CHECK(!chat_config_ok(buf));
    snprintf(buf, sizeof buf, "%s[\"../tokenizer.json\"]}", head);
    AAE_CHECK(!chat_config_ok(buf));
}

int main(void)
{
    return aae_test_run_all();
}
