/*
 * errors.c - nats-server's JetStream API error table (server/errors.json
 * at v2.10.29: err_code -> HTTP-like code and description), and the error
 * objects and responses built from it.
 *
 * Callers: every API handler (jetstream.c, stream.c, consumer.c) and the
 * PubAck error form. The table is data copied from errors.json, sorted by
 * err_code so a lookup is a binary search; it holds every entry of that
 * release, so a handler never meets an unknown code. Where a later release
 * changed a text (2.14 writes "invalid JSON: {err}" with Go's decoder
 * message, which natsim cannot reproduce), natsim keeps the 2.10.29 text;
 * docs/jetstream.md lists these choices.
 *
 * A description may hold one "{name}" placeholder ("{err}", "{seq}",
 * "{id}", ...): the detail given to js_error_json replaces it, as
 * nats-server's NewJS...Error(arg) constructors do.
 */
#include "broker/js/js.h"

#include <stdlib.h>
#include <string.h>

#include "proto/assert.h"

static const JsErrorDef error_table[] = {
	{ 10002, 400, "resource limits exceeded for account" }, /* JSAccountResourcesExceededErr */
	{ 10003, 400, "bad request" }, /* JSBadRequestErr */
	{ 10004, 503, "incomplete results" }, /* JSClusterIncompleteErr */
	{ 10005, 400, "{err}" }, /* JSClusterNoPeersErrF */
	{ 10006, 500, "JetStream not in clustered mode" }, /* JSClusterNotActiveErr */
	{ 10007, 500, "JetStream cluster not assigned to this server" }, /* JSClusterNotAssignedErr */
	{ 10008, 503, "JetStream system temporarily unavailable" }, /* JSClusterNotAvailErr */
	{ 10009, 500, "JetStream cluster can not handle request" }, /* JSClusterNotLeaderErr */
	{ 10010, 503, "JetStream clustering support required" }, /* JSClusterRequiredErr */
	{ 10011, 400, "tags placement not supported for operation" }, /* JSClusterTagsErr */
	{ 10012, 500, "{err}" }, /* JSConsumerCreateErrF */
	{ 10013, 400, "consumer name already in use" }, /* JSConsumerNameExistErr */
	{ 10014, 404, "consumer not found" }, /* JSConsumerNotFoundErr */
	{ 10015, 400, "deliver subject not valid" }, /* JSSnapshotDeliverSubjectInvalidErr */
	{ 10016, 400, "consumer expected to be durable but no durable name set in subject" }, /* JSConsumerDurableNameNotInSubjectErr */
	{ 10017, 400, "consumer name in subject does not match durable name in request" }, /* JSConsumerDurableNameNotMatchSubjectErr */
	{ 10018, 400, "consumer expected to be durable but a durable name was not set" }, /* JSConsumerDurableNameNotSetErr */
	{ 10019, 400, "consumer expected to be ephemeral but detected a durable name set in subject" }, /* JSConsumerEphemeralWithDurableInSubjectErr */
	{ 10020, 400, "consumer expected to be ephemeral but a durable name was set in request" }, /* JSConsumerEphemeralWithDurableNameErr */
	{ 10021, 400, "stream external api prefix {prefix} must not overlap with {subject}" }, /* JSStreamExternalApiOverlapErrF */
	{ 10022, 400, "stream external delivery prefix {prefix} overlaps with stream subject {subject}" }, /* JSStreamExternalDelPrefixOverlapsErrF */
	{ 10023, 503, "insufficient resources" }, /* JSInsufficientResourcesErr */
	{ 10024, 400, "stream external delivery prefix {prefix} must not contain wildcards" }, /* JSStreamInvalidExternalDeliverySubjErrF */
	{ 10025, 400, "invalid JSON" }, /* JSInvalidJSONErr */
	{ 10026, 400, "maximum consumers limit reached" }, /* JSMaximumConsumersLimitErr */
	{ 10027, 400, "maximum number of streams reached" }, /* JSMaximumStreamsLimitErr */
	{ 10028, 500, "insufficient memory resources available" }, /* JSMemoryResourcesExceededErr */
	{ 10029, 500, "{err}" }, /* JSMirrorConsumerSetupFailedErrF */
	{ 10030, 400, "stream mirror must have max message size >= source" }, /* JSMirrorMaxMessageSizeTooBigErr */
	{ 10031, 400, "stream mirrors can not also contain other sources" }, /* JSMirrorWithSourcesErr */
	{ 10032, 400, "stream mirrors can not have both start seq and start time configured" }, /* JSMirrorWithStartSeqAndTimeErr */
	{ 10033, 400, "stream mirrors can not contain filtered subjects" }, /* JSMirrorWithSubjectFiltersErr */
	{ 10034, 400, "stream mirrors can not contain subjects" }, /* JSMirrorWithSubjectsErr */
	{ 10035, 503, "account not found" }, /* JSNoAccountErr */
	{ 10036, 503, "not currently supported in clustered mode" }, /* JSClusterUnSupportFeatureErr */
	{ 10037, 404, "no message found" }, /* JSNoMessageFoundErr */
	{ 10038, 400, "expected an empty request payload" }, /* JSNotEmptyRequestErr */
	{ 10039, 503, "JetStream not enabled for account" }, /* JSNotEnabledForAccountErr */
	{ 10040, 400, "peer not a member" }, /* JSClusterPeerNotMemberErr */
	{ 10041, 500, "{err}" }, /* JSRaftGeneralErrF */
	{ 10042, 500, "JetStream unable to subscribe to restore snapshot {subject}: {err}" }, /* JSRestoreSubscribeFailedErrF */
	{ 10043, 400, "sequence {seq} not found" }, /* JSSequenceNotFoundErrF */
	{ 10044, 400, "server is not a member of the cluster" }, /* JSClusterServerNotMemberErr */
	{ 10045, 500, "{err}" }, /* JSSourceConsumerSetupFailedErrF */
	{ 10046, 400, "stream source must have max message size >= target" }, /* JSSourceMaxMessageSizeTooBigErr */
	{ 10047, 500, "insufficient storage resources available" }, /* JSStorageResourcesExceededErr */
	{ 10048, 500, "{err}" }, /* JSStreamAssignmentErrF */
	{ 10049, 500, "{err}" }, /* JSStreamCreateErrF */
	{ 10050, 500, "{err}" }, /* JSStreamDeleteErrF */
	{ 10051, 500, "{err}" }, /* JSStreamGeneralErrorF */
	{ 10052, 500, "{err}" }, /* JSStreamInvalidConfigF */
	{ 10053, 500, "{err}" }, /* JSStreamLimitsErrF */
	{ 10054, 400, "message size exceeds maximum allowed" }, /* JSStreamMessageExceedsMaximumErr */
	{ 10055, 400, "stream mirror configuration can not be updated" }, /* JSStreamMirrorNotUpdatableErr */
	{ 10056, 400, "stream name in subject does not match request" }, /* JSStreamMismatchErr */
	{ 10057, 500, "{err}" }, /* JSStreamMsgDeleteFailedF */
	{ 10058, 400, "stream name already in use with a different configuration" }, /* JSStreamNameExistErr */
	{ 10059, 404, "stream not found" }, /* JSStreamNotFoundErr */
	{ 10060, 400, "expected stream does not match" }, /* JSStreamNotMatchErr */
	{ 10061, 400, "Replicas configuration can not be updated" }, /* JSStreamReplicasNotUpdatableErr */
	{ 10062, 500, "restore failed: {err}" }, /* JSStreamRestoreErrF */
	{ 10063, 503, "expected stream sequence does not match" }, /* JSStreamSequenceNotMatchErr */
	{ 10064, 500, "snapshot failed: {err}" }, /* JSStreamSnapshotErrF */
	{ 10065, 400, "subjects overlap with an existing stream" }, /* JSStreamSubjectOverlapErr */
	{ 10066, 500, "{err}" }, /* JSStreamTemplateCreateErrF */
	{ 10067, 500, "{err}" }, /* JSStreamTemplateDeleteErrF */
	{ 10068, 404, "template not found" }, /* JSStreamTemplateNotFoundErr */
	{ 10069, 500, "{err}" }, /* JSStreamUpdateErrF */
	{ 10070, 400, "wrong last msg ID: {id}" }, /* JSStreamWrongLastMsgIDErrF */
	{ 10071, 400, "wrong last sequence: {seq}" }, /* JSStreamWrongLastSequenceErrF */
	{ 10072, 500, "JetStream unable to open temp storage for restore" }, /* JSTempStorageFailedErr */
	{ 10073, 400, "template name in subject does not match request" }, /* JSTemplateNameNotMatchSubjectErr */
	{ 10074, 500, "replicas > 1 not supported in non-clustered mode" }, /* JSStreamReplicasNotSupportedErr */
	{ 10075, 503, "peer remap failed" }, /* JSPeerRemapErr */
	{ 10076, 503, "JetStream not enabled" }, /* JSNotEnabledErr */
	{ 10077, 503, "{err}" }, /* JSStreamStoreFailedF */
	{ 10078, 400, "consumer config required" }, /* JSConsumerConfigRequiredErr */
	{ 10079, 400, "consumer deliver subject has wildcards" }, /* JSConsumerDeliverToWildcardsErr */
	{ 10080, 400, "consumer in push mode can not set max waiting" }, /* JSConsumerPushMaxWaitingErr */
	{ 10081, 400, "consumer deliver subject forms a cycle" }, /* JSConsumerDeliverCycleErr */
	{ 10082, 400, "consumer requires ack policy for max ack pending" }, /* JSConsumerMaxPendingAckPolicyRequiredErr */
	{ 10083, 400, "consumer idle heartbeat needs to be >= 100ms" }, /* JSConsumerSmallHeartbeatErr */
	{ 10084, 400, "consumer in pull mode requires ack policy" }, /* JSConsumerPullRequiresAckErr */
	{ 10085, 400, "consumer in pull mode requires a durable name" }, /* JSConsumerPullNotDurableErr */
	{ 10086, 400, "consumer in pull mode can not have rate limit set" }, /* JSConsumerPullWithRateLimitErr */
	{ 10087, 400, "consumer max waiting needs to be positive" }, /* JSConsumerMaxWaitingNegativeErr */
	{ 10088, 400, "consumer idle heartbeat requires a push based consumer" }, /* JSConsumerHBRequiresPushErr */
	{ 10089, 400, "consumer flow control requires a push based consumer" }, /* JSConsumerFCRequiresPushErr */
	{ 10090, 400, "consumer direct requires a push based consumer" }, /* JSConsumerDirectRequiresPushErr */
	{ 10091, 400, "consumer direct requires an ephemeral consumer" }, /* JSConsumerDirectRequiresEphemeralErr */
	{ 10092, 400, "consumer direct on a mapped consumer" }, /* JSConsumerOnMappedErr */
	{ 10093, 400, "consumer filter subject is not a valid subset of the interest subjects" }, /* JSConsumerFilterNotSubsetErr */
	{ 10094, 400, "{err}" }, /* JSConsumerInvalidPolicyErrF */
	{ 10095, 400, "failed to parse consumer sampling configuration: {err}" }, /* JSConsumerInvalidSamplingErrF */
	{ 10096, 500, "stream not valid" }, /* JSStreamInvalidErr */
	{ 10097, 400, "header size exceeds maximum allowed of 64k" }, /* JSStreamHeaderExceedsMaximumErr */
	{ 10098, 400, "workqueue stream requires explicit ack" }, /* JSConsumerWQRequiresExplicitAckErr */
	{ 10099, 400, "multiple non-filtered consumers not allowed on workqueue stream" }, /* JSConsumerWQMultipleUnfilteredErr */
	{ 10100, 400, "filtered consumer not unique on workqueue stream" }, /* JSConsumerWQConsumerNotUniqueErr */
	{ 10101, 400, "consumer must be deliver all on workqueue stream" }, /* JSConsumerWQConsumerNotDeliverAllErr */
	{ 10102, 400, "consumer name is too long, maximum allowed is {max}" }, /* JSConsumerNameTooLongErrF */
	{ 10103, 400, "durable name can not contain '.', '*', '>'" }, /* JSConsumerBadDurableNameErr */
	{ 10104, 500, "error creating store for consumer: {err}" }, /* JSConsumerStoreFailedErrF */
	{ 10105, 400, "consumer already exists and is still active" }, /* JSConsumerExistingActiveErr */
	{ 10106, 400, "consumer replacement durable config not the same" }, /* JSConsumerReplacementWithDifferentNameErr */
	{ 10107, 400, "consumer description is too long, maximum allowed is {max}" }, /* JSConsumerDescriptionTooLongErrF */
	{ 10108, 400, "consumer with flow control also needs heartbeats" }, /* JSConsumerWithFlowControlNeedsHeartbeats */
	{ 10109, 400, "invalid operation on sealed stream" }, /* JSStreamSealedErr */
	{ 10110, 500, "{err}" }, /* JSStreamPurgeFailedF */
	{ 10111, 500, "{err}" }, /* JSStreamRollupFailedF */
	{ 10112, 400, "invalid push consumer deliver subject" }, /* JSConsumerInvalidDeliverSubject */
	{ 10113, 400, "account requires a stream config to have max bytes set" }, /* JSStreamMaxBytesRequired */
	{ 10114, 400, "consumer max request batch needs to be > 0" }, /* JSConsumerMaxRequestBatchNegativeErr */
	{ 10115, 400, "consumer max request expires needs to be >= 1ms" }, /* JSConsumerMaxRequestExpiresToSmall */
	{ 10116, 400, "max deliver is required to be > length of backoff values" }, /* JSConsumerMaxDeliverBackoffErr */
	{ 10117, 500, "subject details would exceed maximum allowed" }, /* JSStreamInfoMaxSubjectsErr */
	{ 10118, 500, "stream is offline" }, /* JSStreamOfflineErr */
	{ 10119, 500, "consumer is offline" }, /* JSConsumerOfflineErr */
	{ 10120, 400, "no JetStream default or applicable tiered limit present" }, /* JSNoLimitsErr */
	{ 10121, 400, "consumer max ack pending exceeds system limit of {limit}" }, /* JSConsumerMaxPendingAckExcessErrF */
	{ 10122, 400, "stream max bytes exceeds account limit max stream bytes" }, /* JSStreamMaxStreamBytesExceeded */
	{ 10123, 400, "can not move and scale a stream in a single update" }, /* JSStreamMoveAndScaleErr */
	{ 10124, 400, "stream move already in progress: {msg}" }, /* JSStreamMoveInProgressF */
	{ 10125, 400, "consumer max request batch exceeds server limit of {limit}" }, /* JSConsumerMaxRequestBatchExceededF */
	{ 10126, 400, "consumer config replica count exceeds parent stream" }, /* JSConsumerReplicasExceedsStream */
	{ 10127, 400, "Consumer name can not contain path separators" }, /* JSConsumerNameContainsPathSeparatorsErr */
	{ 10128, 400, "Stream name can not contain path separators" }, /* JSStreamNameContainsPathSeparatorsErr */
	{ 10129, 400, "stream move not in progress" }, /* JSStreamMoveNotInProgress */
	{ 10130, 400, "stream name already in use, cannot restore" }, /* JSStreamNameExistRestoreFailedErr */
	{ 10131, 400, "Consumer create request did not match filtered subject from create subject" }, /* JSConsumerCreateFilterSubjectMismatchErr */
	{ 10132, 400, "Consumer Durable and Name have to be equal if both are provided" }, /* JSConsumerCreateDurableAndNameMismatch */
	{ 10133, 400, "replicas count cannot be negative" }, /* JSReplicasCountCannotBeNegative */
	{ 10134, 400, "consumer config replicas must match interest retention stream's replicas" }, /* JSConsumerReplicasShouldMatchStream */
	{ 10135, 400, "consumer metadata exceeds maximum size of {limit}" }, /* JSConsumerMetadataLengthErrF */
	{ 10136, 400, "consumer cannot have both FilterSubject and FilterSubjects specified" }, /* JSConsumerDuplicateFilterSubjects */
	{ 10137, 400, "consumer with multiple subject filters cannot use subject based API" }, /* JSConsumerMultipleFiltersNotAllowed */
	{ 10138, 400, "consumer subject filters cannot overlap" }, /* JSConsumerOverlappingSubjectFilters */
	{ 10139, 400, "consumer filter in FilterSubjects cannot be empty" }, /* JSConsumerEmptyFilter */
	{ 10140, 400, "duplicate source configuration detected" }, /* JSSourceDuplicateDetected */
	{ 10141, 400, "sourced stream name is invalid" }, /* JSSourceInvalidStreamName */
	{ 10142, 400, "mirrored stream name is invalid" }, /* JSMirrorInvalidStreamName */
	{ 10143, 400, "stream mirrors can not have first sequence configured" }, /* JSMirrorWithFirstSeqErr */
	{ 10144, 400, "source with multiple subject transforms cannot also have a single subject filter" }, /* JSSourceMultipleFiltersNotAllowed */
	{ 10145, 400, "source subject filter is invalid" }, /* JSSourceInvalidSubjectFilter */
	{ 10146, 400, "source transform destination is invalid" }, /* JSSourceInvalidTransformDestination */
	{ 10147, 400, "source filters can not overlap" }, /* JSSourceOverlappingSubjectFilters */
	{ 10148, 400, "consumer already exists" }, /* JSConsumerAlreadyExists */
	{ 10149, 400, "consumer does not exist" }, /* JSConsumerDoesNotExist */
	{ 10150, 400, "mirror with multiple subject transforms cannot also have a single subject filter" }, /* JSMirrorMultipleFiltersNotAllowed */
	{ 10151, 400, "mirror subject filter is invalid" }, /* JSMirrorInvalidSubjectFilter */
	{ 10152, 400, "mirror subject filters can not overlap" }, /* JSMirrorOverlappingSubjectFilters */
	{ 10153, 400, "consumer inactive threshold exceeds system limit of {limit}" }, /* JSConsumerInactiveThresholdExcess */
};

static int
def_cmp(const void *key, const void *elem)
{
	uint32_t code = *(const uint32_t *)key;
	const JsErrorDef *d = elem;
	return code < d->err_code ? -1 : code > d->err_code ? 1 : 0;
}

const JsErrorDef *
js_error_def(uint32_t err_code)
{
	return bsearch(&err_code, error_table, G_N_ELEMENTS(error_table), sizeof(error_table[0]), def_cmp);
}

/* The description with its first "{name}" placeholder replaced by detail
 * (g_free). Without a detail the text stays as the table has it. */
static char *
describe(const JsErrorDef *def, const char *detail)
{
	const char *open = strchr(def->description, '{');
	const char *close = open != NULL ? strchr(open, '}') : NULL;
	if (detail == NULL || open == NULL || close == NULL)
		return g_strdup(def->description);
	return g_strdup_printf("%.*s%s%s", (int)(open - def->description), def->description, detail, close + 1);
}

json_t *
js_error_json(uint32_t err_code, const char *detail)
{
	const JsErrorDef *def = js_error_def(err_code);
	ASSERT(def != NULL);
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(def->code));
	json_object_set_new(e, "err_code", json_integer(def->err_code));
	char *text = describe(def, detail);
	json_t *description = json_string(text); /* NULL when detail is not UTF-8 */
	json_object_set_new(e, "description", description != NULL ? description : json_string(def->description));
	g_free(text);
	return e;
}

json_t *
js_api_error_response(const char *type_suffix, uint32_t err_code, const char *detail)
{
	json_t *r = js_api_response_new(type_suffix);
	json_object_set_new(r, "error", js_error_json(err_code, detail));
	return r;
}
