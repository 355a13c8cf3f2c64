from django.urls import include, path

from . import views

blog = (
    [
        path("<int:pk>/", views.article, name="article"),
        path("", views.ArticleList.as_view()),  # unnamed: the page is named after the class
    ],
    "blog",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("api/hello/", views.api_hello, name="api-hello"),
    path("track/", views.track, name="track"),
    path("module-track/", views.module_track, name="module-track"),
    path("login/", views.login_view, name="login"),
    path("login-then-page/", views.login_then_page, name="login-then-page"),
    path("async/", views.async_page, name="async-page"),
    path("async-login/", views.async_login_then_page, name="async-login"),
    path("stream/", views.stream, name="stream"),
    path("boom/", views.boom, name="boom"),
    path("blog/", include(blog)),
]
