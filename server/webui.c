/* The reviewers' page (webui/), embedded in the binary at build time. */
#include "webui.h"

#include <string.h>

#include "lib/macros.h"

/* Each file between a start and an end symbol in .rodata. */
#define EMBED(sym, file)                                                                 \
	".global " sym "\n.hidden " sym "\n" sym ":\n.incbin \"" file "\"\n.global " sym \
	"_end\n.hidden " sym "_end\n" sym "_end:\n"

__asm__(".section .rodata\n.balign 16\n" EMBED("al_webui_index", "webui/index.html")
	    EMBED("al_webui_js", "webui/app.js") EMBED("al_webui_dom_js", "webui/dom.js")
		EMBED("al_webui_diff_js", "webui/diff.js")
		    EMBED("al_webui_css", "webui/app.css") ".previous\n");

extern const char al_webui_index[], al_webui_index_end[];
extern const char al_webui_js[], al_webui_js_end[];
extern const char al_webui_dom_js[], al_webui_dom_js_end[];
extern const char al_webui_diff_js[], al_webui_diff_js_end[];
extern const char al_webui_css[], al_webui_css_end[];

int
al_webui_file(const char *path, struct al_webui_file *ret)
{
	static const struct {
		const char *path, *type, *start, *end;
	} files[] = {
	    {"/", "text/html; charset=utf-8", al_webui_index, al_webui_index_end},
	    {"/index.html", "text/html; charset=utf-8", al_webui_index, al_webui_index_end},
	    {"/app.js", "text/javascript; charset=utf-8", al_webui_js, al_webui_js_end},
	    {"/dom.js", "text/javascript; charset=utf-8", al_webui_dom_js, al_webui_dom_js_end},
	    {"/diff.js", "text/javascript; charset=utf-8", al_webui_diff_js, al_webui_diff_js_end},
	    {"/app.css", "text/css; charset=utf-8", al_webui_css, al_webui_css_end},
	};

	for (size_t i = 0; i < AL_ARRAY_SIZE(files); i++)
		if (!strcmp(path, files[i].path)) {
			ret->data = files[i].start;
			ret->len = (size_t)(files[i].end - files[i].start);
			ret->content_type = files[i].type;
			return 0;
		}
	return -1;
}
