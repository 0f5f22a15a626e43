/* global nurture, window, document, localStorage, location, fetch */
// Shared behaviour of the demo shop's pages: catalogue data, the cart, sign-in, header.
// Everything Nurture learns comes from the snippet in each page plus the nurture.* calls below.
"use strict";

const PRODUCTS = [
  { sku: "trail-runner", name: "Trail Runner Shoes", price: 120, category: "footwear", emoji: "\u{1F45F}" },
  { sku: "merino-hoodie", name: "Merino Hoodie", price: 85, category: "clothing", emoji: "\u{1F9E5}" },
  { sku: "ultralight-tent", name: "Ultralight Tent", price: 340, category: "camping", emoji: "\u26FA" },
  { sku: "insulated-bottle", name: "Insulated Bottle", price: 30, category: "accessories", emoji: "\u{1F9F4}" },
];

const shop = {
  product(sku) {
    return PRODUCTS.find((p) => p.sku === sku) || null;
  },
  cart() {
    try {
      return JSON.parse(localStorage.getItem("demo.cart") || "[]");
    } catch {
      return [];
    }
  },
  cartTotal() {
    return shop.cart().reduce((sum, sku) => sum + ((shop.product(sku) || { price: 0 }).price), 0);
  },
  addToCart(sku) {
    const product = shop.product(sku);
    if (!product) return;
    localStorage.setItem("demo.cart", JSON.stringify(shop.cart().concat([sku])));
    nurture.track("added_to_cart", { sku, name: product.name, price: product.price, category: product.category });
  },
  clearCart() {
    localStorage.removeItem("demo.cart");
  },
  user() {
    try {
      return JSON.parse(localStorage.getItem("demo.user") || "null");
    } catch {
      return null;
    }
  },
  /** The shop's server checks the visitor and signs an identity token for them (see demo-shop-server.ts). */
  async signIn(email, name) {
    const response = await fetch("/demo/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, name }) });
    if (!response.ok) throw new Error("sign-in failed");
    const { userId, token } = await response.json();
    localStorage.setItem("demo.user", JSON.stringify({ userId, email, name }));
    nurture.identify(userId, { email, name }, { token });
    return userId;
  },
  signOut() {
    localStorage.removeItem("demo.user");
    nurture.reset();
    location.reload();
  },
  header(active) {
    const header = document.createElement("header");
    const brand = document.createElement("span");
    brand.className = "brand";
    brand.textContent = "Nurture Outfitters";
    const nav = document.createElement("nav");
    for (const [href, label] of [["/", "Catalogue"], ["/pricing.html", "Membership"], ["/checkout.html", "Cart & checkout"]]) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = label;
      if (label === active) link.className = "active";
      nav.appendChild(link);
    }
    const account = document.createElement("span");
    account.className = "account";
    const user = shop.user();
    account.textContent = user ? `Signed in as ${user.email}` : "Guest";
    if (user) {
      const out = document.createElement("button");
      out.className = "secondary";
      out.id = "sign-out";
      out.textContent = "Sign out";
      out.addEventListener("click", shop.signOut);
      account.appendChild(out);
    }
    header.append(brand, nav, account);
    document.body.prepend(header);
  },
};

window.shop = shop;
