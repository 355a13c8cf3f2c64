from django.urls import path

from example_projects.django_shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("products/<str:pid>", views.product, name="product"),
    path("api/signup", views.signup, name="signup"),
    path("api/login", views.login_view, name="login"),
    path("api/cart", views.add_to_cart, name="cart"),
]
