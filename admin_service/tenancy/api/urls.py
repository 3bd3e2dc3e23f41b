from rest_framework.routers import SimpleRouter

from tenancy.api.views import TenantViewSet

router = SimpleRouter()
router.register("prefeituras", TenantViewSet, basename="prefeitura")

urlpatterns = router.urls
