using FailoverOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.UnitTests;

/// <summary>
/// The informer's cache when the operator's own writes (<see cref="Informer{T,TList}.Remember"/>) and
/// watch events arrive in either order. resourceVersions are etcd revisions: increasing, shared by all kinds.
/// </summary>
public class InformerCacheTests
{
    private static Informer<V1Lease, V1LeaseList> NewInformer() =>
        new(new ListWatch<V1Lease, V1LeaseList>((_, _) => throw new NotSupportedException("no API server in unit tests")),
            NullLogger.Instance, "leases");

    private static V1Lease Lease(string name, int resourceVersion, string holder = "pod-a", string uid = "uid-1") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns", ResourceVersion = resourceVersion.ToString(), Uid = uid },
        Spec = new V1LeaseSpec { HolderIdentity = holder },
    };

    [Fact]
    public void AWriteRememberedAfterTheWatchDeliveredItsDeletionDoesNotComeBack()
    {
        // The operator creates a Lease; the garbage collector deletes it; the watch delivers both events
        // before the create's response is handled. Remembering the response then would leave a Lease in
        // the cache that no longer exists, and the operator would never create it again.
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Added, Lease("g", 120));
        informer.OnEvent(WatchEventType.Deleted, Lease("g", 125));

        informer.Remember(Lease("g", 120));

        Assert.Null(informer.Get("ns", "g"));
        Assert.Empty(informer.List("ns"));
    }

    [Fact]
    public void AWriteIsVisibleBeforeTheWatchDeliversItAndItsEventChangesNothing()
    {
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Added, Lease("g", 100, holder: "pod-a"));
        var changes = 0;
        informer.Changed += (_, _) => changes++;

        informer.Remember(Lease("g", 130, holder: "pod-b"));
        Assert.Equal("pod-b", informer.Get("ns", "g")!.Spec.HolderIdentity);
        Assert.Equal(1, changes);

        informer.OnEvent(WatchEventType.Modified, Lease("g", 130, holder: "pod-b"));
        Assert.Equal(1, changes);
    }

    [Fact]
    public void AnOlderWatchEventDoesNotOverwriteANewerWriteOfOurs()
    {
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Added, Lease("g", 100, holder: "pod-a"));
        informer.Remember(Lease("g", 130, holder: "pod-c"));

        informer.OnEvent(WatchEventType.Modified, Lease("g", 110, holder: "pod-b"));

        Assert.Equal(("pod-c", "130"), (informer.Get("ns", "g")!.Spec.HolderIdentity, informer.Get("ns", "g")!.Metadata.ResourceVersion));
    }

    [Fact]
    public void TheDeletionOfAnOlderIncarnationDoesNotRemoveANewerWriteOfTheSameName()
    {
        // Object g (uid-1) is deleted and re-created (uid-2); the operator writes the new one before its
        // watch has delivered the old one's deletion.
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Added, Lease("g", 100, uid: "uid-1"));
        informer.Remember(Lease("g", 140, uid: "uid-2"));

        informer.OnEvent(WatchEventType.Deleted, Lease("g", 105, uid: "uid-1"));

        Assert.Equal("uid-2", informer.Get("ns", "g")!.Metadata.Uid);
    }

    [Fact]
    public void ADeletionNewerThanOurWriteRemovesIt()
    {
        var informer = NewInformer();
        informer.Remember(Lease("g", 140));

        informer.OnEvent(WatchEventType.Deleted, Lease("g", 150));

        Assert.Null(informer.Get("ns", "g"));
    }

    [Fact]
    public void AWriteAtOrBelowABookmarkIsAlreadyInTheCacheAndIsNotRemembered()
    {
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Bookmark, new V1Lease { Metadata = new V1ObjectMeta { ResourceVersion = "200" } });

        informer.Remember(Lease("at", 200));
        informer.Remember(Lease("below", 190));

        Assert.Null(informer.Get("ns", "at"));
        Assert.Null(informer.Get("ns", "below"));
    }

    [Fact]
    public void ARelistDropsWhatIsGoneButKeepsAWriteNewerThanTheList()
    {
        var informer = NewInformer();
        informer.OnEvent(WatchEventType.Added, Lease("old", 100));
        informer.Remember(Lease("mine", 310));
        var deleted = new List<string>();
        informer.Changed += (before, after) => { if (after is null) deleted.Add(before!.Metadata.Name); };

        informer.OnList([Lease("listed", 250)], "300");

        Assert.Equal(["listed", "mine"], informer.List("ns").Select(l => l.Metadata.Name).Order());
        Assert.Equal(["old"], deleted);
        informer.Remember(Lease("stale", 290));
        Assert.Null(informer.Get("ns", "stale"));
    }

    [Fact]
    public void ResourceVersionsThatAreNotNumbersAreAppliedAsTheyCome()
    {
        var informer = NewInformer();
        var lease = Lease("g", 1);
        lease.Metadata.ResourceVersion = "opaque-c";
        informer.OnEvent(WatchEventType.Added, lease);
        var written = Lease("g", 1, holder: "pod-z");
        written.Metadata.ResourceVersion = "opaque-b";   // sorts before the cached one: no ordering may be assumed

        informer.Remember(written);

        Assert.Equal("pod-z", informer.Get("ns", "g")!.Spec.HolderIdentity);
    }
}
