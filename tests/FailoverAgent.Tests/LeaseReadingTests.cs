using FailoverAgent.Kube;

namespace FailoverAgent.Tests;

public class LeaseReadingTests
{
    private const string Line = """
        {"type":"MODIFIED","object":{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"g","namespace":"ns","resourceVersion":"42",
        "annotations":{"failover.dev/failover":"{\"from\":\"a\",\"to\":\"b\",\"reason\":\"NotReady\",\"term\":7}","failover.dev/fencing":"not json"},
        "managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{}}}]},
        "spec":{"holderIdentity":"b","leaseDurationSeconds":9,"leaseTransitions":7}}}
        """;

    [Fact]
    public void A_watch_line_becomes_a_snapshot_with_term_duration_and_the_failover_reason()
    {
        var (kind, lease) = LeaseWatch.Parse(Line.ReplaceLineEndings(""))!.Value;
        var snapshot = LeaseReading.ToSnapshot(lease!);

        Assert.Equal(WatchEventKind.Upserted, kind);
        Assert.Equal(("b", 7L, TimeSpan.FromSeconds(9), "42"), (snapshot.Holder, snapshot.Term, snapshot.Duration, snapshot.ResourceVersion));
        Assert.Equal("NotReady", snapshot.PromotionReason);
        Assert.Null(snapshot.FencingReason);   // an annotation that does not parse tells nothing
    }

    [Fact]
    public void A_read_lease_can_be_written_back_under_the_aot_client_managed_fields_are_dropped()
    {
        var (_, lease) = LeaseWatch.Parse(Line.ReplaceLineEndings(""))!.Value;
        var snapshot = LeaseReading.ToSnapshot(lease!);

        Assert.Null(lease!.Metadata.ManagedFields);
        Assert.Contains("\"holderIdentity\":\"b\"", k8s.KubernetesJson.Serialize(snapshot.Source));
    }

    [Fact]
    public void Error_lines_end_the_watch_and_bookmarks_are_skipped()
    {
        Assert.Equal(WatchEventKind.Expired, LeaseWatch.Parse("""{"type":"ERROR","object":{"kind":"Status","code":410}}""")!.Value.Kind);
        Assert.Null(LeaseWatch.Parse("""{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}}"""));
    }
}
