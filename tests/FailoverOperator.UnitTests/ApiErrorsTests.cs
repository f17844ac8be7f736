using System.Net;
using FailoverOperator.Runtime;
using k8s.Autorest;

namespace FailoverOperator.UnitTests;

public class ApiErrorsTests
{
    private static HttpOperationException Failure(HttpStatusCode status, string body) =>
        new($"Operation returned an invalid status code '{status}'")
        {
            Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), body),
        };

    // The API server's answers, verbatim apart from names.
    private const string Terminating = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"db\" is forbidden: unable to create new content in namespace t-1 because it is being terminated","reason":"Forbidden","details":{"name":"db","group":"coordination.k8s.io","kind":"leases","causes":[{"reason":"NamespaceTerminating","message":"namespace t-1 is being terminated","field":"metadata.namespace"}]},"code":403}""";
    private const string RbacDenied = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io is forbidden: User \"system:serviceaccount:t-1:op\" cannot create resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"t-1\"","reason":"Forbidden","details":{"group":"coordination.k8s.io","kind":"leases"},"code":403}""";

    [Fact]
    public void ACreateRefusedBecauseTheNamespaceIsBeingDeletedIsRecognised() =>
        Assert.True(ApiErrors.IsNamespaceTerminating(Failure(HttpStatusCode.Forbidden, Terminating)));

    [Fact]
    public void AnRbacDenialIsNotMistakenForATerminatingNamespace() =>
        Assert.False(ApiErrors.IsNamespaceTerminating(Failure(HttpStatusCode.Forbidden, RbacDenied)));

    [Fact]
    public void OnlyA403CountsAndOtherExceptionsAreNot()
    {
        Assert.False(ApiErrors.IsNamespaceTerminating(Failure(HttpStatusCode.InternalServerError, Terminating)));
        Assert.False(ApiErrors.IsNamespaceTerminating(new HttpRequestException("connection refused")));
    }

    [Fact]
    public void A404NamingItsObjectIsAnObjectThatWentAway()
    {
        const string podGone = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"db-1\" not found","reason":"NotFound","details":{"name":"db-1","kind":"pods"},"code":404}""";
        Assert.True(ApiErrors.IsObjectGone(Failure(HttpStatusCode.NotFound, podGone)));
    }

    [Theory]
    [InlineData("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}""")]
    [InlineData("404 page not found")]
    [InlineData("")]
    public void A404ForAPathTheServerDoesNotServeIsNot(string body) =>
        Assert.False(ApiErrors.IsObjectGone(Failure(HttpStatusCode.NotFound, body)));

    [Fact]
    public void TheDescriptionCarriesTheStatusAndTheServersBody() =>
        Assert.Equal($"403 Forbidden: {RbacDenied}", ApiErrors.Describe(Failure(HttpStatusCode.Forbidden, RbacDenied)));
}
