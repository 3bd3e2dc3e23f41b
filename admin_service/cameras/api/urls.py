from rest_framework.routers import SimpleRouter

from cameras.api import views

router = SimpleRouter()
router.register("cameras", views.CameraViewSet, basename="camera")
router.register("locations", views.LocationViewSet, basename="location")
router.register("zones", views.ZoneViewSet, basename="zone")

urlpatterns = router.urls
