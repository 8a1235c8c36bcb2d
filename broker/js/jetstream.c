/* broker/js/jetstream.c - being written (see broker/js/js.h). */
#include "broker/js/js.h"

JsServer *
js_server_create(Broker *broker, const BrokerConfig *config, int64_t now_ns)
{
	(void)broker;
	(void)config;
	(void)now_ns;
	return NULL;
}

void
js_server_destroy(JsServer *js)
{
	(void)js;
}

json_t *
js_server_varz(JsServer *js)
{
	(void)js;
	return json_object();
}

json_t *
js_server_jsz(JsServer *js, const BrokerMonitorArg *args, size_t arg_count, int64_t now_ns, char **error)
{
	(void)js;
	(void)args;
	(void)arg_count;
	(void)now_ns;
	(void)error;
	return json_object();
}
