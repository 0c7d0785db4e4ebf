/* libFuzzer harness: gen_config on an untrusted Hugging Face folder. Input byte 0
 * chooses what the rest is (bit 0: 0 = config.json, 1 = generation_config.json
 * beside a fixed llama config.json) and the quantization (bits 1-3). Checks: no
 * crash or leak; a failure says why; and whatever gen_config writes, the runtime's
 * chat-config reader accepts (the two sides of the format agree). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "convert/gen_config.h"
#include "format/chat_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char LLAMA[] =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"bos_token_id\": 1, \"eos_token_id\": 2, \"head_dim\": 16, "
    "\"hidden_act\": \"silu\", \"hidden_size\": 64, \"intermediate_size\": 168, \"max_position_embeddings\": 512, "
    "\"model_type\": \"llama\", \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"num_key_value_heads\": 2, "
    "\"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false, \"vocab_size\": 32000}";
static const char *const QUANTS[] = {"q0f32", "q0f16", "q4f16_1", "q4f32_1", "q3f16_1"};

static char dir[64], hf[96], out[96];

static void write_file(const char *folder, const char *name, const void *p, size_t n)
{
    char path[160];
    aae_path_join(path, sizeof path, folder, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

static void empty_folder(const char *folder)
{
    DIR *d = opendir(folder);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && aae_path_join(path, sizeof path, folder, e->d_name))
            unlink(path);
    closedir(d);
}

static void cleanup(void)
{
    empty_folder(hf);
    empty_folder(out);
    rmdir(out);
    rmdir(hf);
    rmdir(dir);
}

static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/aae_fuzz_gen_config.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(hf, sizeof hf, "%s/hf", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    if (mkdir(hf, 0700) != 0)
        abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    empty_folder(hf);
    empty_folder(out);
    rmdir(out);
    if (data[0] & 1) {
        write_file(hf, "config.json", LLAMA, sizeof LLAMA - 1);
        write_file(hf, "generation_config.json", data + 1, size - 1);
    } else {
        write_file(hf, "config.json", data + 1, size - 1);
    }
    aae_gen_config_options o;
    aae_gen_config_default_options(&o);
    o.hf_dir = hf;
    o.out_dir = out;
    o.quantization = QUANTS[((data[0] >> 1) & 7) % 5];
    o.conv_template = "LM";
    aae_error err;
    err.msg[0] = 0;
    if (aae_gen_config(&o, &err) != AAE_OK) {
        if (!err.msg[0])
            abort(); /* a failure always says why */
        return 0;
    }
    aae_chat_config *cfg = NULL;
    if (aae_chat_config_load(out, &cfg, &err) != AAE_OK) {
        fprintf(stderr, "gen_config wrote a chat config the runtime refuses: %s\n", err.msg);
        abort();
    }
    aae_chat_config_free(cfg);
    return 0;
}
